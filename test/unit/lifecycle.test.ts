import { describe, expect, test } from "bun:test";
import {
  CHILD_TRANSITIONS,
  type ChildState,
  Lifecycle,
  PRIMARY_TRANSITIONS,
  type PrimaryState,
} from "../../workers/lifecycle.ts";

describe("lifecycles", () => {
  test("the primary goes starting -> running -> stopping -> stopped and never back", () => {
    const life = new Lifecycle<PrimaryState>("starting", PRIMARY_TRANSITIONS);
    life.to("running");
    life.to("stopping");
    expect(() => life.to("running")).toThrow("illegal transition stopping -> running");
    life.to("stopped");
    expect(life.can("stopping")).toBe(false);
  });

  test("the primary may stop while still starting (boot failure, early signal)", () => {
    const life = new Lifecycle<PrimaryState>("starting", PRIMARY_TRANSITIONS);
    life.to("stopping");
    expect(life.state).toBe("stopping");
  });

  test("a worker drains at most once and never becomes ready again", () => {
    const life = new Lifecycle<ChildState>("booting", CHILD_TRANSITIONS);
    life.to("ready");
    life.to("draining");
    expect(life.can("draining")).toBe(false);
    expect(life.can("ready")).toBe(false);
    life.to("exited");
    expect(life.is("exited")).toBe(true);
  });
});
