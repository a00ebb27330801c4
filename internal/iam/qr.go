package iam

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
)

// A QR code encoder (ISO/IEC 18004), just enough for the otpauth:// URI of a virtual MFA
// device: byte mode, error correction level L, versions 1–20 (up to 858 bytes), one fixed
// mask (pattern 0: every decoder reads any of the eight). Written here rather than taken
// from a module: it is some 250 lines, and the project keeps its dependencies few.

// qrBlocks is, for error correction level L and versions 1–20, the EC codewords per block
// and the blocks: n1 of d1 data codewords, then n2 of d1+1.
type qrBlockSpec struct{ ec, n1, d1, n2 int }

var qrBlocks = [21]qrBlockSpec{
	{}, {7, 1, 19, 0}, {10, 1, 34, 0}, {15, 1, 55, 0}, {20, 1, 80, 0}, {26, 1, 108, 0},
	{18, 2, 68, 0}, {20, 2, 78, 0}, {24, 2, 97, 0}, {30, 2, 116, 0}, {18, 2, 68, 2},
	{20, 4, 81, 0}, {24, 2, 92, 2}, {26, 4, 107, 0}, {30, 3, 115, 1}, {22, 5, 87, 1},
	{24, 5, 98, 1}, {28, 1, 107, 5}, {30, 5, 120, 1}, {28, 3, 113, 4}, {28, 3, 107, 5},
}

// qrAlign is the alignment pattern centres of versions 1–20.
var qrAlign = [21][]int{
	{}, {}, {6, 18}, {6, 22}, {6, 26}, {6, 30}, {6, 34}, {6, 22, 38}, {6, 24, 42}, {6, 26, 46},
	{6, 28, 50}, {6, 30, 54}, {6, 32, 58}, {6, 34, 62}, {6, 26, 46, 66}, {6, 26, 48, 70},
	{6, 26, 50, 74}, {6, 30, 54, 78}, {6, 30, 56, 82}, {6, 30, 58, 86}, {6, 34, 62, 90},
}

const qrMaxVersion = 20

var errQRTooLong = errors.New("iam: text too long for a QR code")

func (b *qrBlockSpec) dataLen() int { return b.n1*b.d1 + b.n2*(b.d1+1) }

// qrSymbol is a QR code's modules, dark = true, row-major.
type qrSymbol struct {
	size     int
	dark     []bool
	function []bool // modules of function patterns, which data does not use
}

func (q *qrSymbol) set(x, y int, dark bool) {
	q.dark[y*q.size+x] = dark
	q.function[y*q.size+x] = true
}

// qrEncode makes the QR code of text in byte mode at level L, in the smallest version that
// holds it.
func qrEncode(text []byte) (*qrSymbol, error) {
	ver := 0
	for v := 1; v <= qrMaxVersion; v++ {
		countBits := 8
		if v >= 10 {
			countBits = 16
		}
		if 4+countBits+8*len(text) <= 8*qrBlocks[v].dataLen() {
			ver = v
			break
		}
	}
	if ver == 0 {
		return nil, errQRTooLong
	}
	blk := &qrBlocks[ver]
	// Data bits: mode 0100 (byte), the count, the bytes, a terminator, pad codewords.
	var bits []bool
	put := func(v, n int) {
		for i := n - 1; i >= 0; i-- {
			bits = append(bits, v>>i&1 == 1)
		}
	}
	put(4, 4)
	if ver >= 10 {
		put(len(text), 16)
	} else {
		put(len(text), 8)
	}
	for _, c := range text {
		put(int(c), 8)
	}
	capBits := 8 * blk.dataLen()
	put(0, min(4, capBits-len(bits)))
	for len(bits)%8 != 0 {
		bits = append(bits, false)
	}
	data := make([]byte, 0, blk.dataLen())
	for i := 0; i < len(bits); i += 8 {
		var b byte
		for j := range 8 {
			if bits[i+j] {
				b |= 0x80 >> j
			}
		}
		data = append(data, b)
	}
	for pad := byte(0xec); len(data) < blk.dataLen(); pad ^= 0xec ^ 0x11 {
		data = append(data, pad)
	}
	q := newQRSymbol(ver)
	q.place(qrInterleave(data, blk))
	q.applyMask()
	q.drawFormat()
	return q, nil
}

// qrInterleave splits data into the version's blocks, adds each block's Reed–Solomon
// codewords and interleaves them as the standard orders them.
func qrInterleave(data []byte, blk *qrBlockSpec) []byte {
	var blocks, ecs [][]byte
	off := 0
	for i := range blk.n1 + blk.n2 {
		n := blk.d1
		if i >= blk.n1 {
			n++
		}
		b := data[off : off+n]
		off += n
		blocks = append(blocks, b)
		ecs = append(ecs, rsRemainder(b, blk.ec))
	}
	var out []byte
	for i := range blk.d1 + 1 {
		for _, b := range blocks {
			if i < len(b) {
				out = append(out, b[i])
			}
		}
	}
	for i := range blk.ec {
		for _, e := range ecs {
			out = append(out, e[i])
		}
	}
	return out
}

// gfMul multiplies in GF(2^8) modulo x^8+x^4+x^3+x^2+1 (0x11d).
func gfMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1d
		}
		b >>= 1
	}
	return p
}

// rsGenerator is the Reed–Solomon generator polynomial of degree n, prod(x - α^i) for
// i < n, its coefficients from the highest power (whose 1 is left out).
func rsGenerator(n int) []byte {
	g := make([]byte, n)
	g[n-1] = 1
	root := byte(1)
	for range n {
		for j := range n {
			g[j] = gfMul(g[j], root)
			if j+1 < n {
				g[j] ^= g[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return g
}

// rsRemainder is the n error correction codewords of data.
func rsRemainder(data []byte, n int) []byte {
	g := rsGenerator(n)
	r := make([]byte, n)
	for _, d := range data {
		f := d ^ r[0]
		copy(r, r[1:])
		r[n-1] = 0
		for j := range n {
			r[j] ^= gfMul(g[j], f)
		}
	}
	return r
}

// newQRSymbol draws the function patterns of a version and reserves the format areas.
func newQRSymbol(ver int) *qrSymbol {
	size := 17 + 4*ver
	q := &qrSymbol{size: size, dark: make([]bool, size*size), function: make([]bool, size*size)}
	for i := range size {
		q.set(6, i, i%2 == 0)
		q.set(i, 6, i%2 == 0)
	}
	finder := func(cx, cy int) {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := cx+dx, cy+dy
				if x < 0 || y < 0 || x >= size || y >= size {
					continue
				}
				d := max(abs(dx), abs(dy))
				q.set(x, y, d != 2 && d != 4)
			}
		}
	}
	finder(3, 3)
	finder(size-4, 3)
	finder(3, size-4)
	al := qrAlign[ver]
	for i, ax := range al {
		for j, ay := range al {
			if i == 0 && j == 0 || i == 0 && j == len(al)-1 || i == len(al)-1 && j == 0 {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					q.set(ax+dx, ay+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	q.drawFormat() // reserves the areas; drawn again once the mask is applied
	if ver >= 7 {
		rem := ver
		for range 12 {
			rem = rem<<1 ^ (rem>>11)*0x1f25
		}
		bits := ver<<12 | rem
		for i := range 18 {
			dark := bits>>i&1 == 1
			a, b := size-11+i%3, i/3
			q.set(a, b, dark)
			q.set(b, a, dark)
		}
	}
	return q
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// qrMask is the mask pattern used: 0, (x+y) mod 2 == 0.
const qrMask = 0

// qrFormatBits is the 15-bit format information of level L with qrMask.
func qrFormatBits() int {
	data := 1<<3 | qrMask // level L is 01
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (data<<10 | rem) ^ 0x5412
}

func (q *qrSymbol) drawFormat() {
	bits := qrFormatBits()
	bit := func(i int) bool { return bits>>i&1 == 1 }
	for i := range 6 {
		q.set(8, i, bit(i))
	}
	q.set(8, 7, bit(6))
	q.set(8, 8, bit(7))
	q.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		q.set(14-i, 8, bit(i))
	}
	for i := range 8 {
		q.set(q.size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		q.set(8, q.size-15+i, bit(i))
	}
	q.set(8, q.size-8, true) // the dark module
}

// place puts the codewords in the zig-zag order of the standard, two columns at a time
// from the right, skipping the vertical timing pattern; modules left over stay light.
func (q *qrSymbol) place(cw []byte) {
	i := 0
	for right := q.size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := range q.size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = q.size - 1 - vert
				}
				if q.function[y*q.size+x] || i >= len(cw)*8 {
					continue
				}
				q.dark[y*q.size+x] = cw[i>>3]>>(7-i&7)&1 == 1
				i++
			}
		}
	}
}

func (q *qrSymbol) applyMask() {
	for y := range q.size {
		for x := range q.size {
			if !q.function[y*q.size+x] && (x+y)%2 == 0 {
				q.dark[y*q.size+x] = !q.dark[y*q.size+x]
			}
		}
	}
}

// qrCodePNG renders text as a PNG QR code: 4 pixels a module and a quiet zone of 4 modules.
func qrCodePNG(text string) ([]byte, error) {
	q, err := qrEncode([]byte(text))
	if err != nil {
		return nil, err
	}
	const scale, quiet = 4, 4
	n := (q.size + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range q.size {
		for x := range q.size {
			if !q.dark[y*q.size+x] {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray((x+quiet)*scale+dx, (y+quiet)*scale+dy, color.Gray{})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
