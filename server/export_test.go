package server

// FastCallsServed returns how many tool calls h's fast path has answered
// (for the tests of package server_test), or -1 when it has none.
func FastCallsServed(h *HTTP) int64 {
	f, ok := h.fast.(*fastCalls)
	if !ok {
		return -1
	}
	return f.served.Load()
}
