/** Sync protocol shapes the OpenAPI document leaves untyped (mutations, results, changes). */
import type { EntityName } from "./models.js";

export type JsonObject = Record<string, unknown>;

/** One outbox entry, exactly as it is pushed. */
export interface Mutation {
  seq: number;
  entity: EntityName;
  id: string;
  op: "upsert" | "delete";
  hlc: string;
  base_version?: number;
  fields?: JsonObject;
}

export type ResultStatus = "applied" | "merged" | "rejected" | "duplicate" | "out_of_order";

export interface FieldConflict {
  field: string;
  /** `kept_server`: the server's newer value stayed; `overwrote`: yours replaced one you had not
   * seen; `rejected`: the field was refused (`code`: `read_only`, `locked`, `invalid_transition`). */
  outcome: "kept_server" | "overwrote" | "rejected";
  code?: string;
  server_value: unknown;
  server_hlc: string | null;
}

export interface ResultError {
  code: string;
  message: string;
  field: string | null;
}

export interface MutationResult {
  seq: number;
  status: ResultStatus;
  /** For a `duplicate`: the status the mutation got when it was first processed. */
  original_status?: "applied" | "merged" | "rejected";
  version?: number;
  conflicts?: FieldConflict[];
  error?: ResultError;
  notes?: string[];
}

export interface PushResponseBody {
  last_seq: number;
  server_hlc: string;
  results: MutationResult[];
}

export interface Change {
  entity: EntityName;
  id: string;
  op: "upsert" | "delete" | "evict";
  version: number;
  data?: JsonObject;
}

export interface PullResponseBody {
  schema_version: number;
  cursor: string;
  has_more: boolean;
  last_seq: number;
  server_hlc: string;
  changes: Change[];
}
