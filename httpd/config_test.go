package httpd

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The seed's Apache block, as the config file format takes it.
const seedConfig = `# Joe's hardware, and Mary's antiques on the same server
Listen 80
ServerName www.joes-hardware.com
DocumentRoot /docs/joe
DirectoryIndex index.html index.htm
Options Indexes            # directory listings on
UserDir public_html
UserHome diana /home/diana
TransferLog /logs/joe.access_log
ErrorLog /logs/joe.error_log
LogFormat combined
Redirect 301 /old /new
Redirect seeother /cart /checkout
RedirectTemp /tmp http://elsewhere.example/tmp

<VirtualHost www.marys-antiques.com>
  DocumentRoot /docs/mary
  TransferLog /logs/mary.access_log
  ErrorLog /logs/mary.error_log
</VirtualHost>

<VirtualHost *:80>
  ServerName www.Bobs-Books.com:80
  ServerAlias bobs-books.com
  DocumentRoot "/docs/bob's books"
</VirtualHost>

AddType text/x-foo .foo FOO
ForceType /docs/readme text/plain
ScriptAlias /cgi-bin/ /docs/cgi-bin/
AddHandler cgi-script .cgi .pl
AddHandler server-parsed .shtml
CGITimeout 15
Allow from 10.0.0.0/8 192.168.1.7
Deny from 10.0.0.66

<Location /private>
  AuthType Basic
  AuthName "Staff only"
  AuthUserFile /docs/.htpasswd
  Require valid-user
  Deny from all
  Allow from 10.0.0.0/8
</Location>

Arch multiplexed
Workers 8
MaxConnections 200
KeepAliveTimeout 3
MaxKeepAliveRequests 50
Timeout 30s
RequestHeaderTimeout 500ms
LimitRequestLine 4K
LimitRequestHeaders 32K
LimitRequestBody 2M
IdentityCheck On
IdentityCheckTimeout 2
`

func TestConfigSeedExample(t *testing.T) {
	cfg, err := ParseConfig("joe.conf", strings.NewReader(seedConfig))
	if err != nil {
		t.Fatal(err)
	}
	// "multiplexed" needs a Poller, which no file can give: the caller
	// adds it for packetwalk's sockets; on Linux, poll(2) serves the
	// kernel's, elsewhere Serve refuses the configuration without one.
	if err := cfg.Validate(); kernelPollSupported && err != nil || !kernelPollSupported && (err == nil || !strings.Contains(err.Error(), "Poller")) {
		t.Fatalf("Validate: %v", err)
	}
	want := MapConfig{
		DocRoot:        "/docs/joe",
		DirectoryIndex: []string{"index.html", "index.htm"},
		Listings:       true,
		SSI:            true,
		UserDir:        "public_html",
		UserDirs:       map[string]string{"diana": "/home/diana"},
		VHosts: map[string]VHost{
			"www.marys-antiques.com": {DocRoot: "/docs/mary", AccessLog: "/logs/mary.access_log", ErrorLog: "/logs/mary.error_log"},
			"www.bobs-books.com":     {DocRoot: "/docs/bob's books"},
			"bobs-books.com":         {DocRoot: "/docs/bob's books"},
		},
		Redirects: []Redirect{
			{Status: 301, From: "/old", To: "/new"},
			{Status: 303, From: "/cart", To: "/checkout"},
			{Status: 302, From: "/tmp", To: "http://elsewhere.example/tmp"},
		},
		Types:         map[string]string{".foo": "text/x-foo"},
		ExplicitTypes: map[string]string{"/docs/readme": "text/plain"},
		ScriptAliases: map[string]string{"/cgi-bin/": "/docs/cgi-bin/"},
		CGIExtensions: []string{".cgi", ".pl"},
		CGITimeout:    15 * time.Second,
		Locations: []Location{{
			Prefix:       "/private",
			Allow:        []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			Deny:         []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")},
			AuthUserFile: "/docs/.htpasswd",
			Realm:        "Staff only",
		}},
	}
	if !reflect.DeepEqual(cfg.Map, want) {
		t.Fatalf("MapConfig:\n%+v\nwant\n%+v", cfg.Map, want)
	}
	if cfg.Listen != ":80" || cfg.ServerName != "www.joes-hardware.com" || cfg.AccessLogFile != "/logs/joe.access_log" ||
		cfg.ErrorLogFile != "/logs/joe.error_log" || cfg.LogFormat != "combined" {
		t.Fatalf("server: %+v", cfg)
	}
	if !reflect.DeepEqual(cfg.Allow, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}) ||
		!reflect.DeepEqual(cfg.Deny, []netip.Prefix{netip.MustParsePrefix("10.0.0.66/32")}) {
		t.Fatalf("Allow %v Deny %v", cfg.Allow, cfg.Deny)
	}
	if cfg.Arch != "multiplexed" || cfg.Workers != 8 || cfg.MaxConns != 200 || cfg.KeepAliveTimeout != 3*time.Second ||
		cfg.KeepAliveMax != 50 || cfg.IdleTimeout != 30*time.Second || cfg.HeaderTimeout != 500*time.Millisecond ||
		cfg.MaxRequestLine != 4<<10 || cfg.MaxHeaderBytes != 32<<10 || cfg.MaxBodyBytes != 2<<20 ||
		cfg.Ident == nil || cfg.IdentTimeout != 2*time.Second || cfg.ReverseDNS != nil {
		t.Fatalf("server options: %+v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"Listen eighty", "x.conf:1: Listen wants [address:]port"},
		{"\n\nFrobnicate on", `x.conf:3: unknown directive "Frobnicate"`},
		{"DocumentRoot", "x.conf:1: DocumentRoot takes 1 argument(s), got 0"},
		{"Options Indexes Sparkles", `x.conf:1: unknown option "Sparkles"`},
		{"Redirect 399 /a /b", `x.conf:1: redirect status "399" is not one of`},
		{"Redirect /a", "x.conf:1: Redirect wants [status] /from /to"},
		{"AddType .foo text/x-foo", "x.conf:1: AddType wants a media type first"},
		{"Allow 10.0.0.0/8", "x.conf:1: Allow wants: Allow from"},
		{"Deny from evil.example", `x.conf:1: "evil.example" is not an address`},
		{"Order deny,allow", "x.conf:1: Order is not supported"},
		{"<VirtualHost a.example>\nDocumentRoot /a\n", "x.conf:1: <VirtualHost> opened here is never closed"},
		{"<VirtualHost *:80>\nDocumentRoot /a\n</VirtualHost>", "x.conf:3: the <VirtualHost> opened at line 1 has no host name"},
		{"<VirtualHost a.example>\n</VirtualHost>", "x.conf:2: the <VirtualHost> opened at line 1 has no DocumentRoot"},
		{"<VirtualHost a.example>\nDirectoryIndex x.html\n</VirtualHost>", "x.conf:2: DirectoryIndex is not supported inside <VirtualHost>"},
		{"<VirtualHost a.example>\n<Location /x>", "x.conf:2: <Location> inside another section"},
		{"</Location>", "x.conf:1: </Location> without <Location>"},
		{"<Location private>", `x.conf:1: <Location> wants a URL path`},
		{"<Location /p>\nAuthType Digest\n</Location>", "x.conf:2: only AuthType Basic is supported"},
		{"<Location /p>\nRequire user bob\n</Location>", "x.conf:2: only Require valid-user is supported"},
		{`AuthName "Staff only`, "x.conf:1: a quoted argument is not closed"},
		{"KeepAliveTimeout soon", `x.conf:1: "soon" is not a positive duration`},
		{"Workers -3", `x.conf:1: "-3" is not a positive number`},
		{"LimitRequestBody 1T", `x.conf:1: "1T" is not a positive size`},
		{"KeepAlive maybe", `x.conf:1: want On or Off, got "maybe"`},
		{"LogFormat fancy", `x.conf:1: unknown log format "fancy"`},
		{"Arch forked", `x.conf:1: unknown architecture "forked"`},
		{"<VirtualHost a.example>\nDocumentRoot /a\n</VirtualHost>\n<VirtualHost a.example>\nDocumentRoot /b\n</VirtualHost>", `x.conf:6: virtual host "a.example" is defined twice`},
	} {
		_, err := ParseConfig("x.conf", strings.NewReader(tc.file))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s...", tc.file, err, tc.want)
		}
	}
}

func TestConfigSiteWideAuthAndKeepAliveOff(t *testing.T) {
	cfg, err := ParseConfig("x.conf", strings.NewReader("AuthUserFile /docs/.htpasswd   # for the whole site\nAuthName Site\nKeepAlive Off\nHostnameLookups On\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Map.Locations, []Location{{Prefix: "/", AuthUserFile: "/docs/.htpasswd", Realm: "Site"}}) {
		t.Fatalf("Locations %+v", cfg.Map.Locations)
	}
	if !cfg.DisableKeepAlive || cfg.ReverseDNS == nil {
		t.Fatalf("%+v", cfg)
	}
}

func TestConfigLoadAndOpenLogs(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "httpd.conf")
	text := "TransferLog " + filepath.Join(dir, "access.log") + "\nErrorLog " + filepath.Join(dir, "error.log") + "\n" +
		"<VirtualHost mary.example>\nDocumentRoot /m\nTransferLog " + filepath.Join(dir, "access.log") + "\n</VirtualHost>\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	closeLogs, err := cfg.OpenLogs()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AccessLog == nil || cfg.ErrorLog == nil || cfg.VHostLogs["mary.example"] != cfg.AccessLog {
		t.Fatalf("writers: %+v", cfg)
	}
	cfg.AccessLog.Write([]byte("line\n"))
	if err := closeLogs(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "access.log")); string(b) != "line\n" {
		t.Fatalf("access.log: %q", b)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.conf")); err == nil {
		t.Fatal("a missing file loaded")
	}
}

// The event architecture's directives, and its name in Arch.
func TestConfigEventDirectives(t *testing.T) {
	cfg, err := ParseConfig("e.conf", strings.NewReader("Arch event\nWorkers 8\nEventLoops 2\nMaxQueue 64\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Arch != ArchEvent || cfg.Workers != 8 || cfg.EventLoops != 2 || cfg.MaxQueue != 64 {
		t.Fatalf("got Arch %q Workers %d EventLoops %d MaxQueue %d", cfg.Arch, cfg.Workers, cfg.EventLoops, cfg.MaxQueue)
	}
	if d := (Config{}).withDefaults(); d.Arch != ArchEvent || d.EventLoops != 1 || d.MaxQueue != 256 {
		t.Fatalf("defaults: Arch %q EventLoops %d MaxQueue %d; want event, 1, 256", d.Arch, d.EventLoops, d.MaxQueue)
	}
	for _, bad := range []string{"Arch threads\n", "EventLoops 0\n", "MaxQueue -1\n"} {
		if _, err := ParseConfig("e.conf", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "e.conf:1:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
