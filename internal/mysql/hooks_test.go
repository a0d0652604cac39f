package mysql

// setHook makes t run f once when its next Swap reaches p.
func (t *Target) setHook(p swapHookPoint, f func()) {
	t.hookMu.Lock()
	defer t.hookMu.Unlock()
	if t.hooks == nil {
		t.hooks = map[swapHookPoint]func(){}
	}
	t.hooks[p] = f
}
