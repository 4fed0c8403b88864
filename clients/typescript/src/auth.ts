/**
 * Sign-in and token renewal. Refresh tokens rotate on the server: the new pair is stored before
 * it is used, so a crash right after a refresh never leaves the app holding a spent token.
 */
import { AuthExpired, FieldlineError } from "./errors.js";
import type { Http, TokenSource } from "./http.js";
import type { DeviceKeys } from "./keys.js";
import type { TokenPair, TokenUser } from "./models.js";
import type { StorageAdapter } from "./storage.js";

interface StoredSession {
  accessToken: string;
  refreshToken: string;
  userId: string;
}

export interface DeviceInfo {
  deviceName?: string;
  platform?: string;
}

export class Auth implements TokenSource {
  private session: StoredSession | undefined;
  private lastUser: TokenUser | undefined;
  private renewing: Promise<void> | undefined;
  private readonly listeners = new Set<(user: TokenUser | undefined) => void>();

  constructor(
    private readonly http: Http,
    private readonly storage: StorageAdapter,
    private readonly keys: DeviceKeys,
    private readonly deviceId: () => string,
    private readonly device: DeviceInfo,
  ) {}

  async load(): Promise<void> {
    const session = await this.storage.get(this.keys.session);
    const user = await this.storage.get(this.keys.user);
    this.session = session === null ? undefined : (JSON.parse(session) as StoredSession);
    this.lastUser = user === null ? undefined : (JSON.parse(user) as TokenUser);
  }

  /** The signed-in user, or the last one (whose local data stays readable) after a logout. */
  get user(): TokenUser | undefined {
    return this.lastUser;
  }

  get loggedIn(): boolean {
    return this.session !== undefined;
  }

  /** Called with the new user whenever the signed-in user changes. */
  onUserChange(listener: (user: TokenUser | undefined) => void): void {
    this.listeners.add(listener);
  }

  accessToken(): string | undefined {
    return this.session?.accessToken;
  }

  /** The refresh token (exposed for tests and diagnostics). */
  refreshToken(): string | undefined {
    return this.session?.refreshToken;
  }

  async login(email: string, password: string): Promise<TokenUser> {
    const res = await this.http.request<TokenPair>({
      method: "POST",
      path: "/v1/auth/token",
      auth: false,
      json: {
        email,
        password,
        device_id: this.deviceId(),
        ...(this.device.deviceName ? { device_name: this.device.deviceName } : {}),
        ...(this.device.platform ? { platform: this.device.platform } : {}),
      },
    });
    await this.store(res.data);
    return res.data.user;
  }

  /** Renews the session after `used` was refused. Concurrent callers share one refresh. */
  renew(used: string): Promise<void> {
    if (this.session && this.session.accessToken !== used) return Promise.resolve();
    this.renewing ??= this.refresh().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async refresh(): Promise<void> {
    const session = this.session;
    if (!session) throw new AuthExpired("not_logged_in", "no session to renew");
    let pair: TokenPair;
    try {
      const res = await this.http.request<TokenPair>({
        method: "POST",
        path: "/v1/auth/refresh",
        auth: false,
        json: { refresh_token: session.refreshToken },
      });
      pair = res.data;
    } catch (err) {
      if (err instanceof FieldlineError && err.status === 401) {
        await this.forget();
        throw new AuthExpired(err.code, err.detail, err.problem);
      }
      throw err;
    }
    await this.store(pair);
  }

  /** Revokes this device's tokens on the server (best effort) and forgets them here. */
  async logout(): Promise<void> {
    if (this.session) {
      try {
        await this.http.request({ method: "POST", path: "/v1/auth/logout" });
      } catch (err) {
        if (!(err instanceof FieldlineError)) throw err;
      }
    }
    await this.forget();
  }

  private async store(pair: TokenPair): Promise<void> {
    const session: StoredSession = {
      accessToken: pair.access_token,
      refreshToken: pair.refresh_token,
      userId: pair.user.id,
    };
    const changed = this.lastUser?.id !== pair.user.id;
    await this.storage.setMany({
      [this.keys.session]: JSON.stringify(session),
      [this.keys.user]: JSON.stringify(pair.user),
    });
    this.session = session;
    this.lastUser = pair.user;
    if (changed) for (const l of this.listeners) l(pair.user);
  }

  private async forget(): Promise<void> {
    await this.storage.delete(this.keys.session);
    this.session = undefined;
  }
}
