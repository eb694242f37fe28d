import { requireFunction } from "./host-checks.js";

/** What caused an interrupt assertion: an event flag's 0 -> 1 transition, or a message delivery. */
export type SintSource = "event" | "message";

/** Called once per edge-triggered interrupt the machine asserts. */
export type SintAssertionListener = (
  partitionId: number,
  vpIndex: number,
  sint: number,
  vector: number,
  source: SintSource,
) => void;

/** Told about an exception a listener threw (the call it happened in completed regardless). */
export type ListenerErrorHandler = (error: unknown) => void;

interface Subscription {
  readonly listener: SintAssertionListener;
  readonly onError: ListenerErrorHandler | undefined;
}

/**
 * The machine's onSintAsserted subscribers. A listener is host code: what it throws is caught so
 * that the call it was told about completes as the guest sees it, and handed to its onError (or
 * rethrown from a microtask, so that it is never silently lost).
 */
export class SintListeners {
  private subscriptions: readonly Subscription[] = [];

  get any(): boolean {
    return this.subscriptions.length !== 0;
  }

  subscribe(listener: SintAssertionListener, onError?: ListenerErrorHandler): () => void {
    requireFunction(listener, "onSintAsserted: listener");
    if (onError !== undefined) requireFunction(onError, "onSintAsserted: onError");
    const subscription: Subscription = { listener, onError };
    this.subscriptions = [...this.subscriptions, subscription];
    return () => {
      this.subscriptions = this.subscriptions.filter((s) => s !== subscription);
    };
  }

  notify(
    partitionId: number,
    vpIndex: number,
    sint: number,
    vector: number,
    source: SintSource,
  ): void {
    for (const s of this.subscriptions) {
      try {
        s.listener(partitionId, vpIndex, sint, vector, source);
      } catch (error) {
        if (s.onError !== undefined) s.onError(error);
        else
          queueMicrotask(() => {
            throw error;
          });
      }
    }
  }
}
