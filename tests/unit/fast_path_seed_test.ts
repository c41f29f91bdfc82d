import { assertEquals } from "../helpers/assert.ts";
import { parseSeedArgs } from "../../cli/fast.ts";

Deno.test("the seed fast path reads every option in both spellings, OUTPUT anywhere", () => {
  assertEquals(
    parseSeedArgs([
      "--user-data",
      "u.yaml",
      "out.iso",
      "--meta-data=m.yaml",
      "--add",
      "a",
      "--add=b",
      "--hostname",
      "h1",
    ]),
    {
      output: "out.iso",
      opts: { userData: "u.yaml", metaData: "m.yaml", add: ["a", "b"], hostname: "h1" },
    },
  );
  assertEquals(parseSeedArgs(["out.iso"]), { output: "out.iso", opts: {} });
});

Deno.test("the seed fast path leaves anything unusual to the full command tree", () => {
  for (
    const args of [
      [], // no OUTPUT: commander reports it
      ["--help"],
      ["-h"],
      ["a.iso", "b.iso"],
      ["out.iso", "--bogus", "x"],
      ["out.iso", "--user-data"], // missing value
      ["out.iso", "--user", "-x"], // value that looks like an option
      ["out.iso", "--user", "a", "--user", "b"], // repeated single-value option
      ["--", "out.iso"],
    ]
  ) {
    assertEquals(parseSeedArgs(args), undefined, JSON.stringify(args));
  }
});
