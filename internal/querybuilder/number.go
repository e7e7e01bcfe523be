package querybuilder

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// jsSpace is JavaScript's \s (and String.prototype.trim's) set of white space.
const jsSpace = `[\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}]`

// numericRE is react-querybuilder's numericRegex (numeric-quantity's, with surrounding white
// space allowed) minus its look-ahead, which looksNumeric checks by hand: a sign, digits with
// single "," or "_" separators, then a decimal part, an exponent, or a (mixed) fraction.
var numericRE = regexp.MustCompile(`^` + jsSpace + `*([-+])?` + jsSpace + `*((?:\d(?:[,_]\d|\d)*)?)(` +
	`(?:[eE][+-]?\d(?:[,_]\d|\d)*)?` +
	`|\.\d(?:[,_]\d|\d)*(?:[eE][+-]?\d(?:[,_]\d|\d)*)?` +
	`|(?:` + jsSpace + `+\d(?:[,_]\d|\d)*` + jsSpace + `*)?` + jsSpace + `*/` + jsSpace + `*\d(?:[,_]\d|\d)*` +
	`)?` + jsSpace + `*$`)

// parseNumeric reports whether react-querybuilder renders s as a number with parseNumbers
// set, and the number numeric-quantity reads from it ("1,000" is 1000, "1 1/2" is 1.5).
// A string that only parses to NaN ("0/0") is not a number.
func parseNumeric(s string) (float64, bool) {
	if !lookahead(s) {
		return 0, false
	}
	m := numericRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	sign, whole, tail := m[1], stripSeparators(m[2]), stripSeparators(m[3])
	var f float64
	switch {
	case tail == "":
		f = parseDecimal(whole)
	case tail[0] == '.' || tail[0] == 'e' || tail[0] == 'E':
		if whole == "" {
			whole = "0"
		}
		f = parseDecimal(whole + tail)
	default:
		// "n/d" or "w n/d"; white space may surround the parts.
		num, den, ok := strings.Cut(tail, "/")
		if !ok {
			return 0, false
		}
		n := parseDecimal(trimJS(num))
		d := parseDecimal(trimJS(den))
		if trimJS(num) == "" { // pure fraction: whole is the numerator
			f = parseDecimal(whole) / d
		} else {
			f = parseDecimal(whole) + n/d
		}
	}
	if math.IsNaN(f) {
		return 0, false
	}
	if sign == "-" {
		f = -f
	}
	return f, true
}

// lookahead is numericRegex's (?=[-+]?\s*\.\d|[-+]?\s*\d) after the leading white space.
func lookahead(s string) bool {
	s = trimJS(s)
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = trimJS(s[1:])
	}
	if s != "" && s[0] == '.' {
		s = s[1:]
	}
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

var separators = strings.NewReplacer(",", "", "_", "")

func stripSeparators(s string) string {
	return separators.Replace(s)
}

func parseDecimal(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return math.NaN()
	}
	return f
}

// trimJS is JavaScript's String.prototype.trim.
func trimJS(s string) string {
	return strings.TrimFunc(s, isJSSpace)
}

func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// jsNumber formats f as JavaScript's String(number) does.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	if x >= -6 && x < 21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	sign := "+"
	if x < 0 {
		sign, x = "-", -x
	}
	return mant + "e" + sign + strconv.Itoa(x)
}

// celDouble writes f as a CEL double literal.
func celDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return `double("Infinity")`
	case math.IsInf(f, -1):
		return `double("-Infinity")`
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}
