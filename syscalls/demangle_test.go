package syscalls

import "testing"

// Crash reports name C++ and Rust functions as their source spells them.
func TestDemangled(t *testing.T) {
	for in, want := range map[string]string{
		"_ZN6crashy6Walker6level3Ei":              "crashy::Walker::level3(int)",
		"_ZN6crashy6level1ERNS_6WalkerE":          "crashy::level1(crashy::Walker&)",
		"_ZNSt6vectorIiSaIiEE9push_backERKi":      "std::vector<int, std::allocator<int> >::push_back(int const&)",
		"_RNvNtCs1234_7mycrate3foo3bar":           "mycrate::foo::bar",
		"_ZN7mycrate3foo3bar17h0123456789abcdefE": "mycrate::foo::bar",
		"main":                 "main",
		"crash_level3":         "crash_level3",
		"_Znot a mangled name": "_Znot a mangled name",
		"runtime.sigpanic":     "runtime.sigpanic",
	} {
		if got := demangled(in); got != want {
			t.Errorf("demangled(%q) = %q, want %q", in, got, want)
		}
	}
}
