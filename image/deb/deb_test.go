package deb

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestControlFields(t *testing.T) {
	ss := parseStanzas([]byte("Package: perl\nVersion: 5.36.0-7\nArchitecture: amd64\nPre-Depends: dpkg (>= 1.17.17)\n" +
		"Depends: perl-base (= 5.36.0-7), libperl5.36 (= 5.36.0-7) | perl:any\nProvides: libfoo-perl (= 1), libbar-perl\n" +
		"Description: Larry Wall's\n Practical Extraction\n\nPackage: zlib1g\nVersion: 1:1.2.13\nArchitecture: amd64\n"))
	require.Len(t, ss, 2)
	p := fromStanza(ss[0])
	require.Equal(t, "perl", p.Name)
	require.Equal(t, []string{"dpkg (>= 1.17.17)", "perl-base (= 5.36.0-7)", "libperl5.36 (= 5.36.0-7) | perl:any"}, p.depends)
	require.Equal(t, []string{"libfoo-perl", "libbar-perl"}, p.provides)
	require.Equal(t, "Larry Wall's\nPractical Extraction", ss[0]["Description"])
	require.Equal(t, []string{"libperl5.36", "perl"}, alternatives(p.depends[2]))
	z := fromStanza(ss[1])
	require.Equal(t, "zlib1g_1%3a1.2.13_amd64.deb", z.debName(), "apt-get download's name for an epoch")
}
