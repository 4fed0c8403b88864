"""Media benchmarks: photo pipeline vs bare Pillow, storage puts vs a plain copy, hash calibration.

    .venv/bin/python bench/media_bench.py                 # pipeline + storage
    .venv/bin/python bench/media_bench.py --calibrate     # perceptual-hash thresholds on real photos
    .venv/bin/python bench/media_bench.py --upload --write-docs   # tus upload throughput only
    .venv/bin/python bench/media_bench.py --all --write-docs   # everything, into docs/benchmarks.md

Pipeline = what the job worker does for one visit photo: validate (sniff, header dimensions,
full decode, EXIF) + upright + watermark band + JPEG encode + 320 px WebP thumbnail + fingerprint
+ provenance signature. Baseline = ``Image.open`` + ``load`` + JPEG encode of the same file at
the same quality, in the same run, interleaved with the pipeline runs.

Upload throughput = a tus upload over real HTTP (``fieldline serve``, uvicorn, loopback) in PATCH
chunks, against writing the same bytes to a file in the same chunks, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import importlib.util
import io
import itertools
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from media import images, provenance
from media.fingerprint import FingerprintIndex, ReuseThresholds, compare, fingerprint
from media.storage import LocalStorage
from media.validate import validate_upload
from media.watermark import WatermarkStamp, render_watermarked, watermark_image

QUALITY = 85
ROOT = Path(__file__).resolve().parents[1]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
STAMP = WatermarkStamp(
    issued_at=datetime(2024, 5, 6, 6, 23, 5, tzinfo=UTC),
    time_zone="Asia/Shanghai",
    lat=31.230416,
    lon=121.473701,
    customer_name="上海华联超市",
    rep_name="张伟",
    visit_id="0190c2f2-7a3e-7c11-9d2e-5b8f3e2a4c6d",
    address="上海市黄浦区南京东路100号",
    code="K7Q2-M9XD",
)
CLAIMS = provenance.ProvenanceClaims("m-1", "v-1", "r-1", STAMP.issued_at, STAMP.lat, STAMP.lon)


# ---------------------------------------------------------------------------------------------
# Test image
# ---------------------------------------------------------------------------------------------


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    """Photo-like scene: gradients, lit shapes, a sign, mid-frequency texture and sensor grain."""
    rng = np.random.default_rng(seed)
    sw, sh = width // 4, height // 4
    y = np.linspace(0, 1, sh, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, sw, dtype=np.float32)[None, :]
    base = np.empty((sh, sw, 3), dtype=np.float32)
    for c in range(3):
        top, bottom = rng.uniform(30, 250, 2)
        base[:, :, c] = top + (bottom - top) * y + 30 * np.sin(x * rng.uniform(2, 9) + c)
    small = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(small)
    for _ in range(12):
        x0, y0 = rng.uniform(0, sw), rng.uniform(0, sh)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse((x0, y0, x0 + rng.uniform(20, sw / 3), y0 + rng.uniform(20, sh / 3)), fill=colour)
    draw.rectangle((sw * 0.3, sh * 0.2, sw * 0.55, sh * 0.3), fill=(240, 240, 230))
    small = small.filter(ImageFilter.GaussianBlur(2))
    image = small.resize((width, height), Image.Resampling.BILINEAR)
    texture = Image.fromarray(rng.integers(0, 256, (height // 3, width // 3), dtype=np.uint8), "L")
    grain = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8), "L")
    detail = Image.blend(texture.resize((width, height), Image.Resampling.BILINEAR), grain, 0.35)
    arr = (
        np.asarray(image, dtype=np.int16)
        + ((np.asarray(detail, dtype=np.int16) - 128) * 24 // 64)[:, :, None]
    )
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


# ---------------------------------------------------------------------------------------------
# Photo pipeline
# ---------------------------------------------------------------------------------------------


def bare(path: Path) -> bytes:
    with Image.open(path) as image:
        image.load()
        out = io.BytesIO()
        image.save(out, "JPEG", quality=QUALITY)
        return out.getvalue()


def pipeline(path: Path, signer: provenance.Signer) -> tuple[bytes, bytes]:
    validated = validate_upload(path, "image/jpeg", "visit_photo", keep_image=True)
    assert validated.image is not None
    upright = images.upright(validated.image)
    small = images.resize_within(upright, 320)  # before the band is drawn on `upright`
    thumb = images.encode(small, "WEBP", 75)
    fingerprint(small)
    rendition = render_watermarked(upright, STAMP, quality=QUALITY, in_place=True)
    signed = provenance.sign_rendition(rendition, CLAIMS, signer)
    return signed.data, thumb


def stage_times(path: Path, signer: provenance.Signer, runs: int) -> dict[str, float]:
    stages: dict[str, list[float]] = {}
    for _ in range(runs):
        t0 = time.perf_counter()
        validated = validate_upload(path, "image/jpeg", "visit_photo", keep_image=True)
        t1 = time.perf_counter()
        assert validated.image is not None
        upright = images.upright(validated.image)
        small = images.resize_within(upright, 320)
        images.encode(small, "WEBP", 75)
        t2 = time.perf_counter()
        fingerprint(small)
        t3 = time.perf_counter()
        marked = watermark_image(upright, STAMP, in_place=True)
        t4 = time.perf_counter()
        rendition = images.encode(marked, "JPEG", QUALITY)
        t5 = time.perf_counter()
        provenance.sign_rendition(rendition, CLAIMS, signer)
        t6 = time.perf_counter()
        for name, value in (
            ("validate (sniff + header + full decode + EXIF)", t1 - t0),
            ("320 px WebP thumbnail", t2 - t1),
            ("fingerprint (18 regions x pHash + dHash)", t3 - t2),
            ("watermark band", t4 - t3),
            ("JPEG encode of the rendition", t5 - t4),
            ("sign (SHA-256 + Ed25519 + segment)", t6 - t5),
        ):
            stages.setdefault(name, []).append(value)
    return {name: statistics.median(values) for name, values in stages.items()}


def _timed_cpu(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_pipeline(workdir: Path, runs: int) -> list[str]:
    source = photo_like(4000, 3000, seed=12)
    path = workdir / "photo12mp.jpg"
    source.save(path, "JPEG", quality=92)
    signer = provenance.Signer.generate("bench")
    bare(path), pipeline(path, signer)  # warm up (fonts, codecs)
    bare_t, pipe_t, draft_t = [], [], []
    for _ in range(runs):
        bare_t.append(_timed_cpu(lambda: bare(path)))
        pipe_t.append(_timed_cpu(lambda: pipeline(path, signer)))
        draft_t.append(_timed_cpu(lambda: images.thumbnail_from_path(path, "image/jpeg")))

    def med(values: list[tuple[float, float]], i: int) -> float:
        return statistics.median(v[i] for v in values)

    b_cpu, p_cpu, d_cpu = med(bare_t, 1), med(pipe_t, 1), med(draft_t, 1)
    b_wall, p_wall = med(bare_t, 0), med(pipe_t, 0)
    lines = [
        f"Input: generated 4000x3000 photo-like JPEG (q92, {path.stat().st_size / 1e6:.1f} MB); "
        f"median of {runs} interleaved runs; output JPEG q{QUALITY}. CPU time of the process (all of it "
        "single-threaded), wall time beside it.",
        "",
        "| what | CPU (median) | vs baseline | wall (median) |",
        "|---|---|---|---|",
        f"| **baseline**: Pillow open + decode + JPEG encode | {b_cpu * 1000:.0f} ms | 1.00x "
        f"| {b_wall * 1000:.0f} ms |",
        "| **pipeline**: validate + thumbnail + fingerprint + watermark + encode + sign "
        f"| {p_cpu * 1000:.0f} ms "
        f"| **{p_cpu / b_cpu:.2f}x** (target <= 1.5x) | {p_wall * 1000:.0f} ms |",
        f"| (alone) thumbnail straight from the file with `draft()` | {d_cpu * 1000:.0f} ms "
        f"| {d_cpu / b_cpu:.2f}x | {med(draft_t, 0) * 1000:.0f} ms |",
        "",
        "Pipeline stages (median wall time, separate runs):",
        "",
        "| stage | median |",
        "|---|---|",
    ]
    lines += [f"| {name} | {t * 1000:.1f} ms |" for name, t in stage_times(path, signer, runs).items()]
    return lines


# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------


def _write_file(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        for offset in range(0, size, 8 * 1024 * 1024):
            f.write(os.urandom(min(8 * 1024 * 1024, size - offset)))


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _copy_fsync(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bench_storage(workdir: Path, size_mb: int, runs: int) -> list[str]:
    size = size_mb * 1024 * 1024
    results: dict[str, list[float]] = {}

    def measure(name: str, fn: Callable[..., object], *args: object) -> None:
        os.sync()  # start each measurement without earlier writes still being flushed
        started = time.perf_counter()
        fn(*args)
        results.setdefault(name, []).append(time.perf_counter() - started)

    def put(store: LocalStorage, src: Path, sha: str | None = None) -> None:
        asyncio.run(store.put_file(src, expected_sha256=sha))

    src = workdir / "src.bin"
    _write_file(src, size)
    sha = _sha(src)

    def copy_plain(out: Path) -> None:
        shutil.copyfile(src, out / "copy")

    def copy_synced(out: Path) -> None:
        _copy_fsync(src, out / "copy")

    def put_nosync(out: Path) -> None:
        put(LocalStorage(out, fsync=False), src)

    def put_durable(out: Path) -> None:
        put(LocalStorage(out), src)

    cases: list[tuple[str, Callable[[Path], None]]] = [
        ("baseline: `shutil.copyfile`", copy_plain),
        ("baseline: `shutil.copyfile` + fsync", copy_synced),
        ("`LocalStorage.put_file`, fsync off", put_nosync),
        ("`LocalStorage.put_file` (kernel copy + SHA-256 + fsync + atomic link)", put_durable),
    ]
    for run in range(runs):
        # Rotate the order so no case always runs right after the heaviest one.
        for name, case in cases[run % len(cases) :] + cases[: run % len(cases)]:
            out = workdir / "out"
            out.mkdir()
            measure(name, case, out)
            shutil.rmtree(out)
        store = LocalStorage(workdir / "store")
        put(store, src)
        measure("`put_file` again: already stored, copy + hash then no-op", put, store, src)
        measure("`put_file` again with `expected_sha256`: hash only", put, store, src, sha)
        shutil.rmtree(workdir / "store")
    src.unlink()

    sha_rate = _sha256_rate()
    base = statistics.median(results["baseline: `shutil.copyfile`"])
    lines = [
        f"Input: {size_mb} MiB file on the same disk; median of {runs} runs; page cache warm, `sync` "
        "before each measurement.",
        "",
        "| what | median | throughput | vs copyfile |",
        "|---|---|---|---|",
    ]
    for name, values in results.items():
        t = statistics.median(values)
        lines.append(f"| {name} | {t * 1000:.0f} ms | {size_mb / t:.0f} MiB/s | {t / base:.2f}x |")
    lines += [
        "",
        f"`copyfile` copies in the kernel and neither hashes nor syncs. A put must hash (SHA-256 runs at "
        f"{sha_rate:.0f} MiB/s here, so hashing {size_mb} MiB alone takes "
        f"{size_mb / sha_rate * 1000:.0f} ms) "
        "and, to be durable, fsync; it copies in the kernel and hashes the copy in a second thread, "
        "so it costs about one hash pass plus one fsync.",
    ]
    return lines


def _sha256_rate() -> float:
    block = os.urandom(64 * 1024 * 1024)
    started = time.perf_counter()
    hashlib.sha256(block).digest()
    return 64 / (time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# Perceptual-hash calibration
# ---------------------------------------------------------------------------------------------


def real_photos(extra_dir: str | None) -> dict[str, Image.Image]:
    """scikit-image's sample photos (if installed; textures and charts under 150 px left out)
    plus any JPEG/PNG in ``extra_dir``."""
    paths: list[Path] = []
    spec = importlib.util.find_spec("skimage")
    if spec is not None and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        paths += [
            p for p in sorted(data.iterdir()) if p.suffix in (".png", ".jpg") and "chessboard" not in p.name
        ]
    if extra_dir:
        paths += [
            p for p in sorted(Path(extra_dir).iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        ]
    found: dict[str, Image.Image] = {}
    for path in paths:
        with Image.open(path) as image:
            if min(image.size) >= 150:
                found[path.name] = image.convert("RGB")
    return found


def _crop(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(left * w), round(top * h), round(w - right * w), round(h - bottom * h)))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resize 50 %": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "resize 25 %": lambda im: im.resize((im.width // 4, im.height // 4), Image.Resampling.BILINEAR),
    "JPEG q60": lambda im: _jpeg(im, 60),
    "JPEG q30": lambda im: _jpeg(im, 30),
    "brightness +15 %": lambda im: ImageEnhance.Brightness(im).enhance(1.15),
    "crop 2 % each side": lambda im: _crop(im, 0.02, 0.02, 0.02, 0.02),
    "crop 5 % each side": lambda im: _crop(im, 0.05, 0.05, 0.05, 0.05),
    "crop 8 % each side": lambda im: _crop(im, 0.08, 0.08, 0.08, 0.08),
    "crop 3 % bottom": lambda im: _crop(im, 0, 0, 0, 0.03),
    "crop 6 % left": lambda im: _crop(im, 0.06, 0, 0, 0),
    "crop 8 % right": lambda im: _crop(im, 0, 0, 0.08, 0),
    "crop 12 % right": lambda im: _crop(im, 0, 0, 0.12, 0),
    "crop 4 % + resize 46 % + q70": lambda im: _jpeg(
        _crop(im, 0.04, 0.04, 0.04, 0.04).resize((int(im.width * 0.46), int(im.height * 0.46))), 70
    ),
    "our watermark band": lambda im: watermark_image(im, STAMP),
}


def calibrate(extra_dir: str | None) -> list[str]:
    real = real_photos(extra_dir)
    scenes = {f"generated-{i}": photo_like(800, 600, seed=100 + i) for i in range(12)}
    photos = {**real, **scenes}
    prints = {name: fingerprint(image) for name, image in photos.items()}
    index = FingerprintIndex(prints.items())
    lines = [
        f"Photos: {len(real)} real (scikit-image sample photos"
        + (f", plus the ones in {Path(extra_dir).name}/" if extra_dir else "")
        + f") + {len(scenes)} generated photo-like scenes. Thresholds: pHash <= 10 and dHash <= 12 "
        "on the same region pair.",
        "",
        "| copy | found (real) | found (generated) | missed |",
        "|---|---|---|---|",
    ]
    for copy, make in COPIES.items():
        missed = [
            n
            for n, im in photos.items()
            if (m := index.best_match(fingerprint(make(im)))) is None or m.media_id != n
        ]
        real_found = 1 - len([n for n in missed if n in real]) / max(1, len(real))
        gen_found = 1 - len([n for n in missed if n in scenes]) / len(scenes)
        lines.append(f"| {copy} | {real_found:.0%} | {gen_found:.0%} | {', '.join(missed) or '-'} |")
    pairs = list(itertools.combinations(prints.items(), 2))
    flagged = [(a, b, r) for (a, fa), (b, fb) in pairs if (r := compare(fa, fb))]
    loose = [compare(fa, fb, ReuseThresholds(phash=20, dhash=24)) for (_, fa), (_, fb) in pairs]
    nearest = sorted((r[0], r[1]) for r in loose if r is not None and (r[0] > 10 or r[1] > 12))
    lines += [
        "",
        f"Distinct pairs: {len(pairs)}; flagged as copies: {len(flagged)}"
        + (
            " (" + "; ".join(f"{a} / {b}: pHash {r[0]}, dHash {r[1]}" for a, b, r in flagged) + ")"
            if flagged
            else ""
        )
        + ".",
        f"Closest unflagged distinct pairs (pHash, dHash on their best region pair): {nearest[:5]}.",
    ]
    return lines


# ---------------------------------------------------------------------------------------------
# Upload throughput (tus over HTTP)
# ---------------------------------------------------------------------------------------------

UPLOAD_SECTION = "### Upload throughput (tus over HTTP)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(workdir: Path, max_upload: int):
    """``fieldline serve`` on a fresh SQLite database with the demo data; no in-process worker
    (renditions would compete with the measured requests for the CPU)."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FIELDLINE_VAR_DIR": str(workdir / "var"),
        "FIELDLINE_RUN_WORKER": "0",
        "FIELDLINE_MAX_UPLOAD_BYTES": str(max_upload),
        "FIELDLINE_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "seed", "demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _tus_upload(
    client: httpx.Client, headers: dict[str, str], data: bytes, visit: str, chunk: int
) -> tuple[int, float, float]:
    """Bytes and seconds spent streaming every chunk but the last, and the seconds of the last
    chunk (which completes the upload: sniff, validate, store, link)."""
    tus = {**headers, "Tus-Resumable": "1.0.0"}
    r = client.post(
        "/v1/uploads",
        headers={
            **tus,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": _meta(kind="visit_photo", entity_id=visit),
        },
    )
    r.raise_for_status()
    location = r.headers["location"]
    patch = {**tus, "Content-Type": "application/offset+octet-stream"}
    last = (len(data) - 1) // chunk * chunk  # offset of the final chunk
    started = time.perf_counter()
    for offset in range(0, last, chunk):
        piece = data[offset : offset + chunk]
        r = client.patch(location, content=piece, headers={**patch, "Upload-Offset": str(offset)})
        assert r.status_code == 204, r.text
    streamed = time.perf_counter() - started
    started = time.perf_counter()
    r = client.patch(location, content=data[last:], headers={**patch, "Upload-Offset": str(last)})
    assert r.status_code == 204, r.text
    return last, streamed, time.perf_counter() - started


def _raw_write(path: Path, data: bytes, chunk: int) -> float:
    started = time.perf_counter()
    with open(path, "wb") as f:
        for offset in range(0, len(data), chunk):
            f.write(data[offset : offset + chunk])
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def bench_upload(workdir: Path, runs: int) -> list[str]:
    """MB/s of tus PATCHes through HTTP against a plain file write of the same bytes."""
    load = os.getloadavg()[0]
    # A photo-sized JPEG (it must pass validation when the upload completes): noise at q95.
    rng = np.random.default_rng(7)
    image = Image.fromarray(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8), "RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    data = out.getvalue()
    chunks = (8, 1)
    tus_rate: dict[int, list[float]] = {c: [] for c in chunks}
    raw_rate: dict[int, list[float]] = {c: [] for c in chunks}
    finish: dict[int, list[float]] = {c: [] for c in chunks}
    with (
        _server(workdir, max(2 * len(data), 40_000_000)) as base,
        httpx.Client(base_url=base, timeout=120) as client,
    ):
        r = client.post(
            "/v1/auth/token",
            json={
                "email": "rep1@demo.test",
                "password": "fieldline-demo",
                "device_id": "0190c2f2-7a3e-7c11-9d2e-5b8f3e2a4c6d",
            },
        )
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        customers = client.get("/v1/customers", params={"limit": 1}, headers=headers).json()
        customer = customers["items"][0]["id"]
        for run in range(runs + 1):  # the first run warms up and is not counted
            for chunk_mib in chunks:
                chunk = chunk_mib * 1024 * 1024
                visit = client.post("/v1/visits", json={"customer_id": customer}, headers=headers).json()[
                    "id"
                ]
                # A different file each time (a JPEG comment naming the run): identical bytes
                # would be recognised as already stored.
                comment = f"run {run} chunk {chunk_mib}".encode()
                sample = data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]
                streamed_bytes, streamed, finished = _tus_upload(client, headers, sample, visit, chunk)
                raw = _raw_write(workdir / "raw.bin", sample, chunk)
                if run:
                    tus_rate[chunk_mib].append(streamed_bytes / 1e6 / streamed)
                    raw_rate[chunk_mib].append(len(sample) / 1e6 / raw)
                    finish[chunk_mib].append(finished)
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d}, load average at start {load:.1f}. "
        f"Input: a {len(data) / 1e6:.1f} MB JPEG (4000x3000 noise, q95) uploaded with tus to `fieldline "
        f"serve` (uvicorn, SQLite, loopback) by an httpx client; median of {runs} runs per chunk size. "
        "The streaming rate counts every PATCH but the last; the last PATCH completes the upload and is "
        "timed on its own. Baseline, in the same run: the same bytes written to a file on the same disk "
        "in the same chunks (page cache, no fsync; tus part files are not fsynced either).",
        "",
        "| what | median |",
        "|---|---|",
    ]
    for chunk_mib in chunks:
        tus = statistics.median(tus_rate[chunk_mib])
        raw = statistics.median(raw_rate[chunk_mib])
        done = statistics.median(finish[chunk_mib])
        lines += [
            f"| baseline: file write, {chunk_mib} MiB chunks | {raw:.0f} MB/s |",
            f"| tus PATCH over HTTP, {chunk_mib} MiB chunks | **{tus:.0f} MB/s** ({tus / raw:.2f}x) |",
            f"| last PATCH (sniff + validate + fingerprint + store + link), {chunk_mib} MiB chunks "
            f"| {done * 1000:.0f} ms |",
        ]
    return lines


def write_subsection(title: str, lines: list[str]) -> None:
    """Replace (or add) one ``###`` subsection of the Media section of docs/benchmarks.md."""
    text = DOCS.read_text()
    media = text.find("\n## Media\n")
    if media == -1:
        write_docs([title, "", *lines])
        return
    media_end = text.find("\n## ", media + 1)
    media_end = len(text) if media_end == -1 else media_end
    block = f"{title}\n\n" + "\n".join(lines).rstrip() + "\n"
    start = text.find(f"\n{title}\n", media, media_end)
    if start == -1:
        text = text[:media_end].rstrip("\n") + "\n\n" + block + text[media_end:]
    else:
        end = text.find("\n### ", start + 1, media_end)
        end = media_end if end == -1 else end
        text = text[: start + 1] + block + text[end:]
    DOCS.write_text(text)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def write_docs(body: list[str]) -> None:
    from docs_section import replace_section

    replace_section("## Media", "## Media\n\n" + "\n".join(body), DOCS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--storage-mb", type=int, default=200)
    parser.add_argument("--calibrate", action="store_true", help="only the perceptual-hash calibration")
    parser.add_argument("--all", action="store_true", help="pipeline, storage, calibration and upload")
    parser.add_argument("--upload", action="store_true", help="only the tus upload throughput")
    parser.add_argument("--photos", default=os.environ.get("MEDIA_REAL_PHOTOS_DIR"), help="extra real photos")
    parser.add_argument(
        "--write-docs", action="store_true", help="replace the Media section of docs/benchmarks.md"
    )
    args = parser.parse_args()

    load = os.getloadavg()[0]
    body = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `bench/media_bench.py` on {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Pillow {Image.__version__}; load average at start {load:.1f}. "
        "Reproduce with `.venv/bin/python bench/media_bench.py --all` (real photos for the calibration: "
        "scikit-image's sample photos when it is installed, plus any in `$MEDIA_REAL_PHOTOS_DIR`).",
        "",
    ]
    if args.upload and not args.all:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            lines = bench_upload(Path(tmp), max(3, args.runs // 2))
        print("\n".join([UPLOAD_SECTION, "", *lines]))
        if args.write_docs:
            write_subsection(UPLOAD_SECTION, lines)
        return
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        workdir = Path(tmp)
        if not args.calibrate or args.all:
            body += ["### Visit photo pipeline (12 MP JPEG)", "", *bench_pipeline(workdir, args.runs), ""]
            body += [
                f"### Storage put ({args.storage_mb} MiB, local disk)",
                "",
                *bench_storage(workdir, args.storage_mb, max(3, args.runs // 2)),
                "",
            ]
        if args.calibrate or args.all:
            body += ["### Re-use detection thresholds (perceptual hashes)", "", *calibrate(args.photos), ""]
        if args.all:
            body += [UPLOAD_SECTION, "", *bench_upload(workdir, max(3, args.runs // 2)), ""]
    print("\n".join(body))
    if args.write_docs:
        write_docs(body)


if __name__ == "__main__":
    main()
