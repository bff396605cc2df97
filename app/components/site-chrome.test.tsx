// The test-mode banner says what is simulated, and is absent only when nothing is.
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { TestModeBanner } from "./site-chrome";

const none = { simulator: false, dodoTestMode: false, embeddedChain: false };

describe("test-mode banner", () => {
  it("is absent on a live deployment: real Dodo, a real cluster", () => {
    expect(renderToStaticMarkup(<TestModeBanner parts={none} />)).toBe("");
  });

  it("names each simulated part, and says no real money moves", () => {
    const simulator = renderToStaticMarkup(<TestModeBanner parts={{ ...none, simulator: true }} />);
    expect(simulator).toContain("local checkout simulator");
    expect(simulator).not.toContain("embedded Solana chain");
    expect(simulator).toContain("no real money moves");
    const dodo = renderToStaticMarkup(<TestModeBanner parts={{ ...none, dodoTestMode: true }} />);
    expect(dodo).toContain("Dodo Payments&#x27; test mode");
    const chain = renderToStaticMarkup(<TestModeBanner parts={{ ...none, embeddedChain: true }} />);
    expect(chain).toContain("embedded Solana chain");
    expect(chain).toContain('data-testid="test-mode-banner"');
  });
});
