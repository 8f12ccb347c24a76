import { MsgImpl } from "@nats-io/nats-core/internal";
import type { Msg } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { answerToken } from "../../coordinator/gatherer.ts";

const PREFIX = "_INBOX.watchmesh.abcdefghijkl";
const encoder = new TextEncoder();

/** A message as nats.js hands it over: its subject's bytes kept undecoded until read. */
function received(subject: string): Msg {
  return new MsgImpl({ subject: encoder.encode(subject), sid: 1, size: 0, hdr: -1 }, new Uint8Array(0), {} as never);
}

/** A message object with only the public subject string (another nats.js version). */
function plain(subject: string): Msg {
  return { subject, data: new Uint8Array(0) } as unknown as Msg;
}

describe("an answer's check token", () => {
  const tokens = [0, 1, 35, 36, 1295, 46_655, 2 ** 31, 36 ** 10 - 1, ...Array.from({ length: 300 }, (_, index) => index * 7919)];

  it("is read back from the reply subject the gatherer made, from the undecoded bytes and from the string alike", () => {
    for (const token of tokens) {
      const subject = `${PREFIX}.${token.toString(36)}`;
      expect(answerToken(received(subject), PREFIX.length + 1)).toBe(token);
      expect(answerToken(plain(subject), PREFIX.length + 1)).toBe(token);
    }
  });

  it("is -1 for a subject that no check of the gatherer has", () => {
    for (const tail of ["", "A", "1.2", "-1", "1 ", "zzzzzzzzzzz", "é"]) {
      const subject = `${PREFIX}.${tail}`;
      expect(answerToken(received(subject), PREFIX.length + 1), tail).toBe(-1);
      expect(answerToken(plain(subject), PREFIX.length + 1), tail).toBe(-1);
    }
  });
});
