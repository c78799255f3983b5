/**
 * The little of a PostgreSQL client the call store needs, so the same SQL runs on PGlite (in-process) and on
 * a PostgreSQL server (node-postgres). Parameters are `$1`, `$2`... in both.
 */
export interface SqlQueryable {
  query<Row extends object>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Several statements without parameters (a migration file). */
  exec(text: string): Promise<void>;
}

export interface SqlClient extends SqlQueryable {
  /** Runs `work` on one session inside BEGIN/COMMIT, ROLLBACK when it throws. */
  transaction<T>(work: (session: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
