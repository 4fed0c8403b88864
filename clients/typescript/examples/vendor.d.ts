/**
 * The few declarations the examples use from packages this SDK does not depend on, so that the
 * examples are type-checked with the SDK. In an app, the packages' own types replace these.
 */

declare module "better-sqlite3" {
  interface Statement {
    run(...params: unknown[]): unknown;
    get(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
  }
  interface Database {
    pragma(source: string): unknown;
    exec(source: string): Database;
    prepare(source: string): Statement;
    transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
    close(): void;
  }
  const Database: new (filename: string) => Database;
  export default Database;
}

declare module "@react-native-async-storage/async-storage" {
  const AsyncStorage: {
    getItem(key: string): Promise<string | null>;
    setItem(key: string, value: string): Promise<void>;
    removeItem(key: string): Promise<void>;
    getAllKeys(): Promise<readonly string[]>;
    multiSet(pairs: [string, string][]): Promise<void>;
    multiRemove(keys: readonly string[]): Promise<void>;
  };
  export default AsyncStorage;
}

declare module "expo-file-system" {
  export const EncodingType: { Base64: "base64" };
  export function getInfoAsync(uri: string): Promise<{ exists: boolean; size?: number }>;
  export function readAsStringAsync(
    uri: string,
    options: { encoding: "base64"; position?: number; length?: number },
  ): Promise<string>;
}
