// What a call threw, checked to be of the expected class: for tests that go on to read the
// error's fields (its argument, path or code).
import { expect } from "vitest";

export function thrown<E>(errorClass: new (...args: never[]) => E, make: () => unknown): E {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(errorClass);
    return error as E;
  }
  throw new Error("expected a throw");
}
