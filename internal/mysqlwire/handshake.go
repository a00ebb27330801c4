package mysqlwire

import (
	"encoding/binary"
	"fmt"
)

// Capability is a set of capability flags (CLIENT_* in MySQL's sources).
type Capability uint32

// Capability flags.
const (
	CapLongPassword               Capability = 1 << 0 // CLIENT_LONG_PASSWORD (MariaDB: CLIENT_MYSQL)
	CapFoundRows                  Capability = 1 << 1
	CapLongFlag                   Capability = 1 << 2
	CapConnectWithDB              Capability = 1 << 3
	CapNoSchema                   Capability = 1 << 4
	CapCompress                   Capability = 1 << 5
	CapODBC                       Capability = 1 << 6
	CapLocalFiles                 Capability = 1 << 7
	CapIgnoreSpace                Capability = 1 << 8
	CapProtocol41                 Capability = 1 << 9
	CapInteractive                Capability = 1 << 10
	CapSSL                        Capability = 1 << 11
	CapIgnoreSigpipe              Capability = 1 << 12
	CapTransactions               Capability = 1 << 13
	CapReserved                   Capability = 1 << 14
	CapSecureConnection           Capability = 1 << 15
	CapMultiStatements            Capability = 1 << 16
	CapMultiResults               Capability = 1 << 17
	CapPSMultiResults             Capability = 1 << 18
	CapPluginAuth                 Capability = 1 << 19
	CapConnectAttrs               Capability = 1 << 20
	CapPluginAuthLenEncClientData Capability = 1 << 21
	CapCanHandleExpiredPasswords  Capability = 1 << 22
	CapSessionTrack               Capability = 1 << 23
	CapDeprecateEOF               Capability = 1 << 24
	CapOptionalResultsetMetadata  Capability = 1 << 25
	CapZstdCompression            Capability = 1 << 26
	CapQueryAttributes            Capability = 1 << 27
	CapMultiFactorAuthentication  Capability = 1 << 28
	CapSSLVerifyServerCert        Capability = 1 << 30
	CapRememberOptions            Capability = 1 << 31
)

// DefaultCapabilities are the capabilities a Server offers unless configured otherwise
// (CapSSL is added when TLS is configured). They are what MariaDB 10.4+ and MySQL 5.7+
// both support, so that the gateway can hand the negotiated set on to either backend:
// no compression, no LOAD DATA LOCAL, no query attributes or optional metadata (MySQL 8
// only).
const DefaultCapabilities = CapLongPassword | CapFoundRows | CapLongFlag | CapConnectWithDB |
	CapIgnoreSpace | CapProtocol41 | CapInteractive | CapIgnoreSigpipe | CapTransactions |
	CapSecureConnection | CapMultiStatements | CapMultiResults | CapPSMultiResults |
	CapPluginAuth | CapConnectAttrs | CapPluginAuthLenEncClientData |
	CapCanHandleExpiredPasswords | CapSessionTrack | CapDeprecateEOF

// FramingCapabilities are the capabilities that change how commands and results are
// framed after authentication. A relay between a client and a server must have
// negotiated the same of them on both sides.
const FramingCapabilities = CapDeprecateEOF | CapSessionTrack | CapMultiResults | CapPSMultiResults |
	CapProtocol41 | CapLocalFiles | CapOptionalResultsetMetadata | CapQueryAttributes

// requiredCapabilities must be offered: Handshake speaks only the 4.1 protocol with
// pluggable authentication.
const requiredCapabilities = CapProtocol41 | CapSecureConnection | CapPluginAuth

// neverCapabilities are never offered: no compression; CapSSL follows Config.TLS.
const neverCapabilities = CapCompress | CapZstdCompression | CapSSL

// Authentication plugins.
const (
	pluginNative    = "mysql_native_password"
	pluginCleartext = "mysql_clear_password"
)

// Character sets and server status.
const (
	charsetUTF8MB4GeneralCI = 45 // utf8mb4_general_ci: known to MySQL and MariaDB
	statusAutocommit        = 0x0002
)

// scrambleLen is the length of the authentication challenge (auth-plugin-data).
const scrambleLen = 20

// appendGreeting appends the payload of a Protocol::HandshakeV10.
func appendGreeting(b []byte, version string, connID uint32, scramble []byte, caps Capability) []byte {
	b = append(b, 10)
	b = append(append(b, version...), 0)
	b = binary.LittleEndian.AppendUint32(b, connID)
	b = append(append(b, scramble[:8]...), 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(caps))
	b = append(b, charsetUTF8MB4GeneralCI)
	b = binary.LittleEndian.AppendUint16(b, statusAutocommit)
	b = binary.LittleEndian.AppendUint16(b, uint16(caps>>16))
	b = append(b, byte(len(scramble)+1))
	b = append(b, make([]byte, 10)...) // reserved (MariaDB: 6 bytes and extended capabilities)
	b = append(append(b, scramble[8:]...), 0)
	return append(append(b, pluginNative...), 0)
}

// Bounds of HandshakeResponse41 fields.
const (
	maxUserLen      = 256  // MySQL: 32 characters; MariaDB: 80 (both up to 4 bytes each)
	maxDatabaseLen  = 256  // 64 characters
	maxPluginLen    = 64   // plugin names are identifiers
	maxAttrs        = 128  // libmysql sends about 8, go-sql-driver 6
	maxAttrKeyLen   = 256  //
	maxAttrValueLen = 4096 //
	sslRequestLen   = 32   // capabilities, max packet, charset, 23 bytes filler
)

// response is a decoded HandshakeResponse41 (or SSLRequest, when ssl is true).
type response struct {
	caps      Capability
	maxPacket uint32
	charset   uint8
	ssl       bool // an SSLRequest: the 32-byte prefix only
	user      string
	auth      []byte
	database  string
	plugin    string
	attrs     map[string]string
}

// decodeResponse decodes a Protocol::HandshakeResponse41 or Protocol::SSLRequest payload.
// maxAuth bounds the authentication response. A pre-4.1 client (no CLIENT_PROTOCOL_41)
// is returned with only caps set and an error wrapping ErrUnsupported.
func decodeResponse(p []byte, maxAuth int) (response, error) {
	var r response
	if len(p) < 2 {
		return r, fmt.Errorf("%w: handshake response of %d bytes", ErrProtocol, len(p))
	}
	r.caps = Capability(binary.LittleEndian.Uint16(p))
	if r.caps&CapProtocol41 == 0 {
		return r, fmt.Errorf("%w: pre-4.1 protocol (HandshakeResponse320)", ErrUnsupported)
	}
	d := decoder{b: p}
	r.caps = Capability(d.uint32("capability flags"))
	r.maxPacket = d.uint32("max packet size")
	r.charset = d.uint8("character set")
	d.bytes(23, "filler")
	if d.err != nil {
		return response{caps: r.caps}, d.err
	}
	if len(d.b) == 0 && r.caps&CapSSL != 0 {
		r.ssl = true
		return r, nil
	}
	r.user = string(d.cString(maxUserLen, "user name"))
	switch {
	case r.caps&CapPluginAuthLenEncClientData != 0:
		r.auth = d.lenEncBytes(maxAuth, "auth response")
	case r.caps&CapSecureConnection != 0:
		r.auth = d.bytes(int(d.uint8("auth response length")), "auth response")
	default:
		r.auth = d.cString(maxAuth, "auth response")
	}
	// Trailing optional fields may be missing altogether, as MySQL tolerates.
	if r.caps&CapConnectWithDB != 0 && d.err == nil && len(d.b) > 0 {
		r.database = string(d.cString(maxDatabaseLen, "database"))
	}
	if r.caps&CapPluginAuth != 0 && d.err == nil && len(d.b) > 0 {
		r.plugin = string(d.cString(maxPluginLen, "auth plugin name"))
	}
	if r.caps&CapConnectAttrs != 0 && d.err == nil && len(d.b) > 0 {
		r.attrs = decodeAttrs(&d)
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after handshake response", len(d.b))
	}
	if d.err != nil {
		return response{caps: r.caps}, d.err
	}
	r.auth = append([]byte(nil), r.auth...) // do not keep the packet alive
	return r, nil
}

// decodeAttrs decodes connection attributes: a length-encoded total, then pairs of
// length-encoded strings.
func decodeAttrs(d *decoder) map[string]string {
	total := d.lenEnc("connection attributes length")
	if d.err != nil {
		return nil
	}
	if total > uint64(len(d.b)) {
		d.fail("connection attributes truncated")
		return nil
	}
	ad := decoder{b: d.bytes(int(total), "connection attributes")}
	attrs := map[string]string{}
	for len(ad.b) > 0 && ad.err == nil {
		if len(attrs) == maxAttrs {
			d.err = fmt.Errorf("%w: more than %d connection attributes", ErrTooLong, maxAttrs)
			return nil
		}
		k := string(ad.lenEncBytes(maxAttrKeyLen, "connection attribute name"))
		v := string(ad.lenEncBytes(maxAttrValueLen, "connection attribute value"))
		if ad.err != nil {
			break
		}
		if _, dup := attrs[k]; dup {
			ad.fail("duplicate connection attribute %q", k)
			break
		}
		attrs[k] = v
	}
	if ad.err != nil {
		d.err = ad.err
		return nil
	}
	return attrs
}
