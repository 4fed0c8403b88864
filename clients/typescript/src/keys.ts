/**
 * The storage keys the SDK uses. Device-wide state sits at the top; everything a user syncs sits
 * under that user's id, so two people sharing a phone never see or push each other's data.
 */

const pad = (n: number): string => String(n).padStart(16, "0");

export class DeviceKeys {
  constructor(readonly prefix: string) {}
  get deviceId(): string {
    return `${this.prefix}device_id`;
  }
  get hlc(): string {
    return `${this.prefix}hlc`;
  }
  /** The signed-in session (tokens). Removed at logout or when the session expires. */
  get session(): string {
    return `${this.prefix}session`;
  }
  /** The last user who signed in (kept after logout so their local data stays readable). */
  get user(): string {
    return `${this.prefix}user`;
  }
  forUser(userId: string): UserKeys {
    return new UserKeys(`${this.prefix}u/${userId}/`);
  }
}

export class UserKeys {
  constructor(readonly prefix: string) {}
  get seq(): string {
    return `${this.prefix}seq`;
  }
  get cursor(): string {
    return `${this.prefix}cursor`;
  }
  /** Replica generation: bumped when a bootstrap starts, to drop what it no longer returns. */
  get generation(): string {
    return `${this.prefix}generation`;
  }
  /** Present while a bootstrap (a pull from no cursor) is under way: the generation it fills. */
  get bootstrap(): string {
    return `${this.prefix}bootstrap`;
  }
  get outboxPrefix(): string {
    return `${this.prefix}outbox/`;
  }
  outbox(seq: number): string {
    return `${this.outboxPrefix}${pad(seq)}`;
  }
  replicaPrefix(entity?: string): string {
    return entity === undefined ? `${this.prefix}replica/` : `${this.prefix}replica/${entity}/`;
  }
  replica(entity: string, id: string): string {
    return `${this.prefix}replica/${entity}/${id}`;
  }
  get uploadPrefix(): string {
    return `${this.prefix}upload/`;
  }
  upload(id: string): string {
    return `${this.uploadPrefix}${id}`;
  }
  uploadBytes(id: string): string {
    return `${this.prefix}upload-bytes/${id}`;
  }
}
