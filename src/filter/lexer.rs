//! Turns filter text into tokens, one at a time.
//!
//! The parser pulls tokens lazily rather than lexing everything up front, so the error it reports is
//! the first problem in source order: in `a = = 'oops` the misplaced `=` is reported, not the
//! unterminated string after it. A character that starts no token becomes [`Tok::Invalid`] instead of an
//! error, so that the parser can say what it expected at that point.

use super::ast::Num;
use super::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    /// A bare identifier `[A-Za-z_][A-Za-z0-9_]*`; keywords are identifiers too (see [`Keyword`]).
    Ident(&'a str),
    /// A backtick-quoted field name segment, escapes resolved.
    QuotedName(String),
    /// A string literal, escapes resolved.
    Str(String),
    Num(Num),
    LParen,
    RParen,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// A character that starts no token.
    Invalid(char),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    /// Byte offset of the token's first character.
    pub pos: usize,
    /// The token's source text (empty at the end of the filter).
    pub text: &'a str,
}

/// The reserved words, matched without regard to ASCII case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Contains,
    True,
    False,
    Null,
}

impl Keyword {
    pub fn from_ident(s: &str) -> Option<Keyword> {
        const ALL: [(&str, Keyword); 8] = [
            ("AND", Keyword::And),
            ("OR", Keyword::Or),
            ("NOT", Keyword::Not),
            ("IN", Keyword::In),
            ("CONTAINS", Keyword::Contains),
            ("TRUE", Keyword::True),
            ("FALSE", Keyword::False),
            ("NULL", Keyword::Null),
        ];
        ALL.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)).map(|&(_, k)| k)
    }

    pub fn name(self) -> &'static str {
        match self {
            Keyword::And => "AND",
            Keyword::Or => "OR",
            Keyword::Not => "NOT",
            Keyword::In => "IN",
            Keyword::Contains => "CONTAINS",
            Keyword::True => "true",
            Keyword::False => "false",
            Keyword::Null => "null",
        }
    }
}

impl Token<'_> {
    pub fn keyword(&self) -> Option<Keyword> {
        match self.tok {
            Tok::Ident(s) => Keyword::from_ident(s),
            _ => None,
        }
    }

    pub fn is(&self, k: Keyword) -> bool {
        self.keyword() == Some(k)
    }

    /// How an error message names this token after "found".
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Eof => "end of filter".to_string(),
            Tok::Ident(s) => match Keyword::from_ident(s) {
                Some(k) => format!("keyword {}", k.name()),
                None => format!("name {}", shorten(s)),
            },
            Tok::QuotedName(_) => format!("field name {}", shorten(self.text)),
            Tok::Str(_) => format!("string {}", shorten(self.text)),
            Tok::Num(_) => format!("number {}", shorten(self.text)),
            Tok::Invalid(c) => format!("character {:?}", c),
            _ => format!("'{}'", self.text),
        }
    }
}

/// The error for a string or quoted name opened at `start` and never closed.
fn unterminated(start: usize, quote: char) -> SyntaxError {
    let what = if quote == '`' { "field name" } else { "string" };
    SyntaxError::new(
        start,
        format!("expected a closing {quote} for the {what} that starts here, found end of filter"),
    )
}

/// Source text for an error message, cut to a readable length (on a character boundary).
fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn peek_byte(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn token(&self, tok: Tok<'a>, start: usize) -> Token<'a> {
        Token { tok, pos: start, text: &self.src[start..self.pos] }
    }

    pub fn next_token(&mut self) -> Result<Token<'a>, SyntaxError> {
        while let Some(c) = self.peek_char().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(self.token(Tok::Eof, start));
        };
        self.pos += c.len_utf8();
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            '=' => {
                self.eat(b'='); // `==` is accepted as `=`
                Tok::Eq
            }
            '!' if self.eat(b'=') => Tok::Ne,
            '<' if self.eat(b'=') => Tok::Le,
            '<' if self.eat(b'>') => Tok::Ne, // SQL's spelling of `!=`
            '<' => Tok::Lt,
            '>' if self.eat(b'=') => Tok::Ge,
            '>' => Tok::Gt,
            '\'' | '"' => Tok::Str(self.quoted(start, c)?),
            '`' => Tok::QuotedName(self.quoted(start, c)?),
            '-' | '0'..='9' => {
                self.pos = start;
                Tok::Num(self.number()?)
            }
            'A'..='Z' | 'a'..='z' | '_' => {
                while matches!(self.peek_byte(), Some(b) if b.is_ascii_alphanumeric() || b == b'_') {
                    self.pos += 1;
                }
                Tok::Ident(&self.src[start..self.pos])
            }
            other => Tok::Invalid(other),
        };
        Ok(self.token(tok, start))
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek_byte() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Reads the rest of a quoted string whose opening `quote` is at `start` (already consumed).
    fn quoted(&mut self, start: usize, quote: char) -> Result<String, SyntaxError> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(unterminated(start, quote));
            };
            let at = self.pos;
            self.pos += c.len_utf8();
            match c {
                c if c == quote => return Ok(out),
                '\\' => out.push(self.escape(at, start, quote)?),
                c => out.push(c),
            }
        }
    }

    /// Reads one escape; the backslash at `at` is consumed.
    fn escape(&mut self, at: usize, start: usize, quote: char) -> Result<char, SyntaxError> {
        const EXPECTED: &str =
            r#"expected an escape after the backslash (\' \" \` \\ \/ \n \t \r \b \f \0 or \uXXXX)"#;
        let Some(c) = self.peek_char() else {
            return Err(unterminated(start, quote));
        };
        self.pos += c.len_utf8();
        Ok(match c {
            '\'' | '"' | '`' | '\\' | '/' => c,
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'b' => '\u{8}',
            'f' => '\u{c}',
            '0' => '\0',
            'u' => {
                let unit = self.hex4(at)?;
                match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate: JSON-style text spells characters beyond the BMP as a pair.
                        let low_at = self.pos;
                        if !self.src[self.pos..].starts_with("\\u") {
                            return Err(SyntaxError::new(
                                low_at,
                                format!(
                                    "expected \\uDC00-\\uDFFF to complete the surrogate pair \\u{unit:04X}"
                                ),
                            ));
                        }
                        self.pos += 2;
                        let low = self.hex4(low_at)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(SyntaxError::new(
                                low_at,
                                format!(
                                    "expected \\uDC00-\\uDFFF to complete the surrogate pair \\u{unit:04X}, \
                                     found \\u{low:04X}"
                                ),
                            ));
                        }
                        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        char::from_u32(code).expect("a surrogate pair is a valid scalar value")
                    }
                    0xDC00..=0xDFFF => {
                        return Err(SyntaxError::new(
                            at,
                            format!("expected a character, found the lone low surrogate \\u{unit:04X}"),
                        ))
                    }
                    _ => char::from_u32(unit).expect("a non-surrogate BMP code is a valid scalar value"),
                }
            }
            other => return Err(SyntaxError::new(at, format!("{EXPECTED}, found {other:?}"))),
        })
    }

    /// Four hex digits after `\u` (the escape starts at `at`).
    fn hex4(&mut self, at: usize) -> Result<u32, SyntaxError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.peek_char().and_then(|c| c.to_digit(16));
            let Some(d) = digit else {
                let found = match self.peek_char() {
                    Some(c) => format!("{c:?}"),
                    None => "end of filter".to_string(),
                };
                return Err(SyntaxError::new(
                    at,
                    format!("expected four hex digits after \\u, found {found}"),
                ));
            };
            self.pos += 1;
            value = value * 16 + d;
        }
        Ok(value)
    }

    /// Reads a number: `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`, not followed by a letter, digit, `_`
    /// or `.` (so `12abc` and `1.2.3` are errors rather than two tokens).
    fn number(&mut self) -> Result<Num, SyntaxError> {
        let start = self.pos;
        self.eat(b'-');
        self.digits("expected a digit after '-'")?;
        let mut float = false;
        if self.eat(b'.') {
            float = true;
            self.digits("expected a digit after the decimal point")?;
        }
        if matches!(self.peek_byte(), Some(b'e' | b'E')) {
            self.pos += 1;
            float = true;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.digits("expected a digit in the exponent")?;
        }
        if let Some(c) = self.peek_char().filter(|c| c.is_alphanumeric() || *c == '_' || *c == '.') {
            return Err(SyntaxError::new(
                self.pos,
                format!("expected a space, operator, ',' or ')' after the number, found {c:?}"),
            ));
        }
        let text = &self.src[start..self.pos];
        if !float {
            if let Ok(i) = text.parse::<i128>() {
                return Ok(Num::Int(i));
            }
        }
        // Also integers too long for i128: they become the nearest float.
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Num::Float(f)),
            _ => Err(SyntaxError::new(
                start,
                format!("expected a number within the range of a 64-bit float, found {}", shorten(text)),
            )),
        }
    }

    fn digits(&mut self, expected: &str) -> Result<(), SyntaxError> {
        if !matches!(self.peek_byte(), Some(b'0'..=b'9')) {
            let found = match self.peek_char() {
                Some(c) => format!("{c:?}"),
                None => "end of filter".to_string(),
            };
            return Err(SyntaxError::new(self.pos, format!("{expected}, found {found}")));
        }
        while matches!(self.peek_byte(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
