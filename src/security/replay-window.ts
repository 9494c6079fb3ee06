/**
 * Sliding replay window per sender (RFC 6479's bitmap, as WireGuard uses it): accepts each counter
 * at most once, accepts counters that arrive out of order by up to {@link REPLAY_WINDOW_SIZE}, and
 * rejects anything older. Pure: no time, no I/O. A window only changes on {@link ReplayWindow.accept},
 * which the caller invokes after the datagram's tag has verified, so a forgery cannot move it.
 */
import { assert } from "../runtime/assert.js";

/**
 * Counters a window remembers behind the highest one seen (SPEC section 10 asks for at least 64).
 * One counter per sender covers all its peers, so a receiver sees gaps where the sender wrote to
 * others; 2048 keeps a datagram reordered behind ~2000 of the sender's other sends acceptable.
 */
export const REPLAY_WINDOW_SIZE = 2_048;

const WORD_BITS = 32;
const WORD_COUNT = REPLAY_WINDOW_SIZE / WORD_BITS;

/** Why a counter was refused. */
export type ReplayVerdict = "fresh" | "duplicate" | "too_old";

/** One sender's window: the highest counter seen and a bitmap of the REPLAY_WINDOW_SIZE below it. */
export class ReplayWindow {
  /** Highest counter accepted; -1 before the first. */
  #top = -1;
  /** BOUNDED: WORD_COUNT words. Bit (c mod SIZE) is set when counter c (top - SIZE < c <= top) was seen. */
  readonly #bits = new Uint32Array(WORD_COUNT);

  /** What {@link accept} would say, without changing anything. */
  check(counter: number): ReplayVerdict {
    assert(Number.isSafeInteger(counter) && counter >= 0, "counter must be a non-negative safe integer");
    if (counter > this.#top) return "fresh";
    if (this.#top - counter >= REPLAY_WINDOW_SIZE) return "too_old";
    return this.#isSet(counter) ? "duplicate" : "fresh";
  }

  /** Records `counter` when it is fresh; returns the verdict either way. */
  accept(counter: number): ReplayVerdict {
    const verdict = this.check(counter);
    if (verdict !== "fresh") return verdict;
    if (counter > this.#top) this.#advanceTo(counter);
    const slot = counter % REPLAY_WINDOW_SIZE;
    const word = this.#bits[slot >>> 5] as number;
    this.#bits[slot >>> 5] = word | (1 << (slot & 31));
    return verdict;
  }

  /** Highest counter accepted so far (-1 before the first). */
  get top(): number {
    return this.#top;
  }

  #isSet(counter: number): boolean {
    const slot = counter % REPLAY_WINDOW_SIZE;
    return ((this.#bits[slot >>> 5] as number) & (1 << (slot & 31))) !== 0;
  }

  /** Clears the words the window slides over (RFC 6479 section 2: clear whole blocks, not bits). */
  #advanceTo(counter: number): void {
    const previous = this.#top;
    this.#top = counter;
    if (previous < 0 || counter - previous >= REPLAY_WINDOW_SIZE) {
      this.#bits.fill(0);
      return;
    }
    // Clear the bits of counters previous+1 .. counter, which now reuse slots of counters left behind.
    for (let c = previous + 1; c <= counter; c += 1) {
      const slot = c % REPLAY_WINDOW_SIZE;
      if ((slot & 31) === 0 && c + 31 <= counter) {
        this.#bits[slot >>> 5] = 0;
        c += 31;
      } else {
        const word = this.#bits[slot >>> 5] as number;
        this.#bits[slot >>> 5] = word & ~(1 << (slot & 31));
      }
    }
  }
}
