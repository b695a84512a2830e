// Parses a Mermaid diagram with Mermaid's own parser: `node check.mjs FILE` prints the
// diagram's type and exits 0, or prints the parser's error and exits 1. Mermaid expects a
// browser; jsdom stands in for one (parsing draws nothing).
import { readFileSync } from "fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.Element = dom.window.Element;
globalThis.HTMLElement = dom.window.HTMLElement;

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
try {
  const parsed = await mermaid.parse(readFileSync(process.argv[2], "utf8"));
  console.log(parsed.diagramType);
} catch (error) {
  console.error(`not a valid Mermaid diagram: ${error.message ?? error}`);
  process.exit(1);
}
