// A loopback TCP proxy the test controls: it forwards bytes between clients and a server and,
// on request, cuts connections at chosen points, including after a command reached the server
// but before its reply reached the client (an ambiguous outcome). With a `classify` function
// it reads the RESP stream both ways, so it knows which command each reply answers and can
// drop the reply to a given kind of command (a claim, a completion). It can also hold back
// everything the server sends (a replication link that falls behind). It counts every fault
// it applied, by kind, when it applied it.
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

/** How a connection is broken. */
export const faultKinds = [
  "drop-request",
  "drop-reply to a claim",
  "drop-reply to a completion",
  "stall",
  "half-close",
] as const;
export type FaultKind = (typeof faultKinds)[number];

/** What a command is, for the faults that target replies: a claim, a completion, or other. */
export type CommandClass = "claim" | "completion" | "other";

export interface TcpProxyOptions {
  /** Names the command in `args` (its name first), so replies to it can be targeted. */
  readonly classify?: (args: readonly Buffer[]) => CommandClass;
}

export interface TcpProxy {
  readonly port: number;
  /** Breaks a connection the next time it can in the way given. */
  inject(kind: FaultKind): void;
  /** Whether a fault (of `kind`, when given) waits to be applied. */
  pending(kind?: FaultKind): boolean;
  /** Forgets faults not yet applied. */
  clear(): void;
  /** Faults applied so far, by kind. */
  readonly applied: Readonly<Record<FaultKind, number>>;
  /** Stops forwarding what the server sends, on every connection, and keeps it back. */
  holdReplies(): void;
  /** Bytes the server sent that were held back. */
  readonly heldBytes: number;
  /** Closes every connection; bytes held back are dropped. */
  close(): Promise<void>;
}

/** Where the RESP value starting at `offset` ends, or -1 when `buffer` holds only part of it. */
export function respValueEnd(buffer: Buffer, offset: number): number {
  if (offset >= buffer.length) return -1;
  const lineEnd = buffer.indexOf("\r\n", offset, "latin1");
  if (lineEnd === -1) return -1;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const afterLine = lineEnd + 2;
  const length = () => Number(buffer.toString("latin1", offset + 1, lineEnd));
  switch (type) {
    case "+":
    case "-":
    case ":":
    case "_":
    case "#":
    case ",":
    case "(":
      return afterLine;
    case "$":
    case "!":
    case "=": {
      const size = length();
      if (size < 0) return afterLine;
      const end = afterLine + size + 2;
      return end <= buffer.length ? end : -1;
    }
    case "*":
    case "~":
    case ">":
    case "%": {
      const count = length() * (type === "%" ? 2 : 1);
      let position = afterLine;
      for (let index = 0; index < count; index++) {
        position = respValueEnd(buffer, position);
        if (position === -1) return -1;
      }
      return position;
    }
    default:
      throw new Error(`not a RESP value: type byte ${JSON.stringify(type)}`);
  }
}

/** The arguments of the command (a RESP array of bulk strings) at `offset`, or undefined. */
function commandArgs(buffer: Buffer, offset: number, end: number): Buffer[] {
  if (buffer[offset] !== 0x2a) {
    // An inline command: words on one line.
    return buffer
      .subarray(offset, end - 2)
      .toString("latin1")
      .split(" ")
      .map((word) => Buffer.from(word, "latin1"));
  }
  const args: Buffer[] = [];
  let position = buffer.indexOf("\r\n", offset, "latin1") + 2;
  while (position < end) {
    const lineEnd = buffer.indexOf("\r\n", position, "latin1");
    const size = Number(buffer.toString("latin1", position + 1, lineEnd));
    args.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    position = lineEnd + 2 + size + 2;
  }
  return args;
}

/** Splits a byte stream into whole RESP values, keeping an incomplete tail for the next chunk. */
class RespStream {
  #tail: Buffer = Buffer.alloc(0);

  /** The whole values `chunk` completes, as [start, end] ranges of the returned buffer. */
  push(chunk: Buffer): { buffer: Buffer; values: [number, number][] } {
    const buffer = this.#tail.length === 0 ? chunk : Buffer.concat([this.#tail, chunk]);
    const values: [number, number][] = [];
    let offset = 0;
    for (;;) {
      const end = respValueEnd(buffer, offset);
      if (end === -1) break;
      values.push([offset, end]);
      offset = end;
    }
    this.#tail = buffer.subarray(offset);
    return { buffer, values };
  }
}

/** Starts a proxy on a free loopback port forwarding to `targetPort`. */
export async function startTcpProxy(
  targetPort: number,
  options: TcpProxyOptions = {},
): Promise<TcpProxy> {
  const { classify } = options;
  const sockets = new Set<Socket>();
  const pending: FaultKind[] = [];
  const applied: Record<FaultKind, number> = {
    "drop-request": 0,
    "drop-reply to a claim": 0,
    "drop-reply to a completion": 0,
    stall: 0,
    "half-close": 0,
  };
  let holding = false;
  let heldBytes = 0;
  const take = (kinds: readonly FaultKind[]): FaultKind | undefined => {
    const index = pending.findIndex((kind) => kinds.includes(kind));
    if (index === -1) return undefined;
    const [kind] = pending.splice(index, 1);
    if (kind !== undefined) applied[kind]++;
    return kind;
  };
  const server: Server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: "127.0.0.1" });
    sockets.add(client);
    sockets.add(upstream);
    // The classes of the commands sent upstream whose replies have not come back, in order.
    const awaiting: CommandClass[] = [];
    const requests = new RespStream();
    const replies = new RespStream();
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    const forward = (chunk: Buffer) => {
      if (upstream.destroyed) return;
      if (classify !== undefined) {
        const { buffer, values } = requests.push(chunk);
        for (const [start, end] of values) awaiting.push(classify(commandArgs(buffer, start, end)));
      }
      upstream.write(chunk);
    };
    client.on("data", (chunk: Buffer) => {
      const fault = take(["drop-request", "stall", "half-close"]);
      if (fault === "drop-request") {
        destroy(); // the commands never reach the server
      } else if (fault === "stall") {
        // The whole stream stalls, later chunks included: TCP never reorders bytes.
        client.pause();
        setTimeout(() => {
          forward(chunk);
          client.resume();
        }, 1500);
      } else if (fault === "half-close") {
        forward(chunk);
        client.end(); // no more replies reach the client
      } else {
        forward(chunk);
      }
    });
    upstream.on("data", (chunk: Buffer) => {
      if (holding) {
        heldBytes += chunk.length;
        return;
      }
      if (classify !== undefined) {
        // The commands this chunk completes the replies of: the server ran them.
        const answered = awaiting.splice(0, replies.push(chunk).values.length);
        const targets: FaultKind[] = [];
        if (answered.includes("claim")) targets.push("drop-reply to a claim");
        if (answered.includes("completion")) targets.push("drop-reply to a completion");
        if (take(targets) !== undefined) {
          destroy(); // the server ran the command; its reply is lost
          return;
        }
      }
      if (!client.destroyed && client.writable) client.write(chunk);
    });
    client.on("error", destroy);
    upstream.on("error", destroy);
    client.on("close", () => {
      upstream.destroy();
      sockets.delete(client);
    });
    upstream.on("close", () => {
      client.destroy();
      sockets.delete(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    inject: (kind) => {
      pending.push(kind);
    },
    applied,
    pending: (kind) => (kind === undefined ? pending.length > 0 : pending.includes(kind)),
    clear: () => {
      pending.length = 0;
    },
    holdReplies: () => {
      holding = true;
    },
    get heldBytes() {
      return heldBytes;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
