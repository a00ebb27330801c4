package nativeconf

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// settings returns an option file's lines that are not comments or blank.
func settings(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func TestMariaDBPluginConf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    MariaDBPlugin
		want []string
	}{
		{MariaDBPlugin{Socket: "/run/iamdb/mariadb.sock"}, []string{
			"[mariadb]", "plugin_load_add = auth_iamdb", "loose_awsauthenticationplugin_socket = /run/iamdb/mariadb.sock",
		}},
		{MariaDBPlugin{Socket: "/run/a-b_c.d/x+y@z:1,2=3~%.sock", TimeoutMS: 1500}, []string{
			"[mariadb]", "plugin_load_add = auth_iamdb", "loose_awsauthenticationplugin_socket = /run/a-b_c.d/x+y@z:1,2=3~%.sock",
			"loose_awsauthenticationplugin_timeout = 1500",
		}},
		{MariaDBPlugin{Socket: "/" + strings.Repeat("s", MaxSocketPathBytes-1), TimeoutMS: MinPluginTimeoutMS}, []string{
			"[mariadb]", "plugin_load_add = auth_iamdb", "loose_awsauthenticationplugin_socket = /" + strings.Repeat("s", MaxSocketPathBytes-1),
			"loose_awsauthenticationplugin_timeout = 50",
		}},
		{MariaDBPlugin{Socket: "/s", TimeoutMS: MaxPluginTimeoutMS}, []string{
			"[mariadb]", "plugin_load_add = auth_iamdb", "loose_awsauthenticationplugin_socket = /s", "loose_awsauthenticationplugin_timeout = 30000",
		}},
	}
	for _, tt := range tests {
		got, err := MariaDBPluginConf(tt.p)
		if err != nil {
			t.Errorf("MariaDBPluginConf(%+v) = %v", tt.p, err)
			continue
		}
		if s := settings(got); !slices.Equal(s, tt.want) {
			t.Errorf("MariaDBPluginConf(%+v) settings = %q, want %q", tt.p, s, tt.want)
		}
		if !strings.HasPrefix(got, "# Written by iamdb native-setup") || !strings.HasSuffix(got, "\n") {
			t.Errorf("MariaDBPluginConf(%+v) lacks its header or final newline:\n%s", tt.p, got)
		}
	}
}

func TestMariaDBPluginConfRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    MariaDBPlugin
		want string
	}{
		{MariaDBPlugin{}, "empty socket path"},
		{MariaDBPlugin{Socket: "run/s"}, `socket path "run/s" is not absolute`},
		{MariaDBPlugin{Socket: "/" + strings.Repeat("s", MaxSocketPathBytes)}, "socket path of 108 bytes: a Unix socket's path has at most 107"},
		{MariaDBPlugin{Socket: "/s\nplugin_load_add = evil"}, `holds "\n"`},
		{MariaDBPlugin{Socket: "/s\r"}, `holds "\r"`},
		{MariaDBPlugin{Socket: "/s # comment"}, `holds " "`},
		{MariaDBPlugin{Socket: "/s#x"}, `holds "#"`},
		{MariaDBPlugin{Socket: "/s;x"}, `holds ";"`},
		{MariaDBPlugin{Socket: `/"s"`}, `holds "\""`},
		{MariaDBPlugin{Socket: "/'s'"}, `holds "'"`},
		{MariaDBPlugin{Socket: `/s\n`}, `holds "\\"`},
		{MariaDBPlugin{Socket: "/s\tx"}, `holds "\t"`},
		{MariaDBPlugin{Socket: "/s\x00"}, `holds "\x00"`},
		{MariaDBPlugin{Socket: "/sé"}, "holds a non-ASCII byte"},
		{MariaDBPlugin{Socket: "/s\u00a0"}, "holds a non-ASCII byte"},
		{MariaDBPlugin{Socket: "/s", TimeoutMS: -1}, "timeout -1 ms out of the plugin's range 50..30000"},
		{MariaDBPlugin{Socket: "/s", TimeoutMS: MinPluginTimeoutMS - 1}, "timeout 49 ms out of"},
		{MariaDBPlugin{Socket: "/s", TimeoutMS: MaxPluginTimeoutMS + 1}, "timeout 30001 ms out of"},
	}
	for _, tt := range tests {
		got, err := MariaDBPluginConf(tt.p)
		if err == nil || !strings.HasPrefix(err.Error(), "nativeconf: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("MariaDBPluginConf(%+v) = %q, %v; want an error with %q", tt.p, got, err, tt.want)
		}
	}
}

// FuzzMariaDBPluginConf: an accepted socket and timeout always give the three or four
// settings, the socket verbatim as its own line's value; whatever is accepted passes
// CheckSocketPath's rules (absolute, bounded, only the allowed ASCII bytes).
func FuzzMariaDBPluginConf(f *testing.F) {
	f.Add("/run/iamdb/mariadb.sock", 2000)
	f.Add("/run/a-b_c.d/x+y@z:1,2=3~%.sock", 50)
	f.Add("/s\nplugin_load_add = x", 0)
	f.Add("/s #c", 0)
	f.Add(`/s\\`, 0)
	f.Add("/é", 0)
	f.Add("relative", 30001)
	f.Add("/"+strings.Repeat("a", MaxSocketPathBytes), 0)
	f.Fuzz(func(t *testing.T, sock string, ms int) {
		if len(sock) > 1<<12 {
			return
		}
		s, err := MariaDBPluginConf(MariaDBPlugin{Socket: sock, TimeoutMS: ms})
		if err != nil {
			return
		}
		if sock == "" || sock[0] != '/' || len(sock) > MaxSocketPathBytes {
			t.Fatalf("MariaDBPluginConf accepted socket %q", sock)
		}
		for _, c := range []byte(sock) {
			if c <= ' ' || c >= 0x7f || strings.IndexByte("#;'\"\\`$!", c) >= 0 {
				t.Fatalf("MariaDBPluginConf accepted socket %q holding %q", sock, c)
			}
		}
		want := []string{"[mariadb]", "plugin_load_add = auth_iamdb", "loose_awsauthenticationplugin_socket = " + sock}
		if ms != 0 {
			if ms < MinPluginTimeoutMS || ms > MaxPluginTimeoutMS {
				t.Fatalf("MariaDBPluginConf accepted timeout %d", ms)
			}
			want = append(want, "loose_awsauthenticationplugin_timeout = "+strconv.Itoa(ms))
		}
		if got := settings(s); !slices.Equal(got, want) {
			t.Fatalf("MariaDBPluginConf(%q, %d) settings = %q, want %q", sock, ms, got, want)
		}
	})
}
