package stage

import "strings"

// dedupEnv keeps one entry per name, the last one given, at the place of
// that last one (as runc: `ONE=two`, `ONE=three` reaches the process once).
func dedupEnv(env []string) []string {
	seen := make(map[string]bool, len(env))
	keep := make([]bool, len(env))
	n := 0
	for i := len(env) - 1; i >= 0; i-- {
		k, _, _ := strings.Cut(env[i], "=")
		if !seen[k] {
			seen[k] = true
			keep[i] = true
			n++
		}
	}
	if n == len(env) {
		return env
	}
	out := make([]string, 0, n)
	for i, kv := range env {
		if keep[i] {
			out = append(out, kv)
		}
	}
	return out
}

// setEnv sets key to val in a deduplicated env: in place when it is there,
// appended when not.
func setEnv(env []string, key, val string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + val
			return env
		}
	}
	return append(env, key+"="+val)
}

func envValue(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}
