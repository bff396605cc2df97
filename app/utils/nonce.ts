// The CSP nonce of the response being rendered, for the document's inline scripts (root.tsx). Set on the
// server by entry.server.tsx; on the client it is empty, and browsers hide a nonce from scripts anyway.
import { createContext, useContext } from "react";

const NonceContext = createContext<string | undefined>(undefined);

export const NonceProvider = NonceContext.Provider;

export function useNonce(): string | undefined {
  return useContext(NonceContext);
}
