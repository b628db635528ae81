import { type FileHandle, open, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../../controller/atomic-file.ts';

/** What a source last announced about one object. */
export interface ObjectState {
  etag: string;
  size: number;
  /**
   * Modification time: a file's mtime (lets a restart skip re-hashing an unchanged file) or an S3 LastModified.
   */
  mtimeMs?: number;
}

/**
 * One version of an object: its etag and modification time. Events about that version get an id derived from it,
 * so the one event a crash may repeat carries the same CloudEvent id and backends that dedupe by `source`+`id`
 * (JetStream) drop the copy, while identical bytes written again later (a new mtime) are a new event.
 */
export function versionId(state: ObjectState): string {
  return `${state.etag}/${state.mtimeMs ?? ''}`;
}

interface Snapshot {
  version: 1;
  scope: string;
  objects: Record<string, ObjectState>;
}

type JournalLine = { s: string; v: ObjectState } | { d: string };

/** Journal lines after which the next `compact()` call folds them into the snapshot. */
const COMPACT_AFTER = 512;

/**
 * The persisted checkpoint of a polling or watching source: every key it has announced, with its etag.
 *
 * A snapshot (`<file>`, replaced atomically) plus an append-only journal (`<file>.journal`, one JSON line per
 * announced change) so each event costs one small append instead of rewriting the whole map. The journal is
 * replayed over the snapshot on open (a torn last line from a crash is skipped) and folded into it by `compact`.
 * Entries are recorded after the sink accepted the event, so a crash can at worst repeat the one event in flight.
 *
 * `scope` names what the checkpoint describes (directory path, endpoint/bucket/prefix): a checkpoint of another
 * scope is discarded, as if the source started for the first time.
 */
export class ObjectLedger {
  readonly #path: string;
  readonly #objects: Map<string, ObjectState>;
  readonly #scope: string;
  #journal: FileHandle | undefined;
  #journalLines = 0;
  /** True when no checkpoint of this scope existed: the source starts for the first time. */
  readonly fresh: boolean;

  private constructor(path: string, scope: string, objects: Map<string, ObjectState>, fresh: boolean) {
    this.#path = path;
    this.#scope = scope;
    this.#objects = objects;
    this.fresh = fresh;
  }

  static async open(path: string, scope: string): Promise<ObjectLedger> {
    const snapshot = await readSnapshot(path);
    const fresh = snapshot?.scope !== scope;
    const objects = new Map<string, ObjectState>(fresh ? [] : Object.entries(snapshot.objects));
    if (!fresh) {
      for (const line of await readJournal(`${path}.journal`)) {
        if ('d' in line) objects.delete(line.d);
        else objects.set(line.s, line.v);
      }
    }
    const ledger = new ObjectLedger(path, scope, objects, fresh);
    // Written at once (even empty) so a crash during the first announcements is not mistaken for a first start.
    await ledger.compact(true);
    return ledger;
  }

  /** Removes a source's checkpoint (the source was deleted). */
  static async forget(path: string): Promise<void> {
    await Promise.all([rm(path, { force: true }), rm(`${path}.journal`, { force: true })]);
  }

  get(key: string): ObjectState | undefined {
    return this.#objects.get(key);
  }

  keys(): string[] {
    return [...this.#objects.keys()];
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Records that `key` was announced with `state` (or, with `undefined`, that its deletion was). */
  async record(key: string, state: ObjectState | undefined): Promise<void> {
    if (state === undefined) {
      if (!this.#objects.delete(key)) return;
    } else {
      this.#objects.set(key, state);
    }
    const line: JournalLine = state === undefined ? { d: key } : { s: key, v: state };
    this.#journal ??= await open(`${this.#path}.journal`, 'a', 0o600);
    await this.#journal.appendFile(`${JSON.stringify(line)}\n`);
    this.#journalLines++;
  }

  /** Folds the journal into the snapshot when it has grown (or always, with `force`). */
  async compact(force = false): Promise<void> {
    if (!force && this.#journalLines < COMPACT_AFTER) return;
    const snapshot: Snapshot = { version: 1, scope: this.#scope, objects: Object.fromEntries(this.#objects) };
    await writeFileAtomic(this.#path, JSON.stringify(snapshot));
    // A crash between the two steps only replays entries the snapshot already holds.
    if (this.#journal) await this.#journal.truncate(0);
    else await rm(`${this.#path}.journal`, { force: true });
    this.#journalLines = 0;
  }

  async close(): Promise<void> {
    const journal = this.#journal;
    this.#journal = undefined;
    await journal?.close();
  }
}

async function readSnapshot(path: string): Promise<Snapshot | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Snapshot;
    return parsed.version === 1 && typeof parsed.objects === 'object' ? parsed : undefined;
  } catch {
    // Only written atomically, so this is not a torn write but someone's edit: start over rather than refuse.
    return undefined;
  }
}

async function readJournal(path: string): Promise<JournalLine[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lines: JournalLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    try {
      lines.push(JSON.parse(raw) as JournalLine);
    } catch {
      // The last append of a killed process may be cut short; the event it recorded is announced again.
    }
  }
  return lines;
}
