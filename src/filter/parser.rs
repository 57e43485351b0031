//! Recursive-descent parser from tokens to the [`Expr`] tree.
//!
//! Grammar (keywords in any case):
//! ```text
//! filter    := or EOF
//! or        := and (OR and)*
//! and       := unary (AND unary)*
//! unary     := NOT unary | '(' or ')' | condition
//! condition := path cmp value
//!            | path [NOT] IN '(' value (',' value)* ')'
//!            | path CONTAINS value
//! path      := segment ('.' segment)*      first segment: identifier (not a keyword) or `quoted`
//! cmp       := '=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>='
//! value     := string | number | TRUE | FALSE | NULL
//! ```
//! Recursion happens only through `NOT` and `(`, and both count against [`MAX_DEPTH`], so hostile input
//! gets a syntax error instead of a stack overflow.

use super::ast::{CmpOp, Condition, Expr, InSet, Literal, Path, Test};
use super::lexer::{Keyword, Lexer, Tok, Token};
use super::{SyntaxError, MAX_DEPTH, MAX_IN_ITEMS};

const EXPECTED_VALUE: &str = "expected a value (string, number, true, false or null)";
const EXPECTED_OPERATOR: &str =
    "expected a comparison operator (=, !=, <, <=, >, >=), IN, NOT IN or CONTAINS after the field name";

pub(crate) fn parse(src: &str) -> Result<Expr, SyntaxError> {
    let mut p = Parser { lex: Lexer::new(src), tok: Token { tok: Tok::Eof, pos: 0, text: "" }, depth: 0 };
    p.tok = p.lex.next_token()?;
    let expr = p.or()?;
    if p.tok.tok != Tok::Eof {
        let extra = if p.tok.tok == Tok::RParen { " with no '(' to close" } else { "" };
        return Err(p.error(format!("expected end of filter, AND or OR, found {}{extra}", p.tok.describe())));
    }
    Ok(expr)
}

struct Parser<'a> {
    lex: Lexer<'a>,
    /// The current (not yet consumed) token.
    tok: Token<'a>,
    /// Open `(` and `NOT` levels around the current point.
    depth: usize,
}

impl<'a> Parser<'a> {
    /// Consumes the current token and returns it.
    fn advance(&mut self) -> Result<Token<'a>, SyntaxError> {
        let next = self.lex.next_token()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn error(&self, message: String) -> SyntaxError {
        SyntaxError::new(self.tok.pos, message)
    }

    /// Goes one level deeper (a `(` or `NOT` at the current token), refusing past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!(
                "expected at most {MAX_DEPTH} levels of nested parentheses and NOT, found {} nested deeper",
                self.tok.describe()
            )));
        }
        self.depth += 1;
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let first = self.and()?;
        if !self.tok.is(Keyword::Or) {
            return Ok(first);
        }
        let mut children = Vec::new();
        push_flat(&mut children, first, Kind::Or);
        while self.tok.is(Keyword::Or) {
            self.advance()?;
            let next = self.and()?;
            push_flat(&mut children, next, Kind::Or);
        }
        Ok(Expr::Or(children))
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let first = self.unary()?;
        if !self.tok.is(Keyword::And) {
            return Ok(first);
        }
        let mut children = Vec::new();
        push_flat(&mut children, first, Kind::And);
        while self.tok.is(Keyword::And) {
            self.advance()?;
            let next = self.unary()?;
            push_flat(&mut children, next, Kind::And);
        }
        Ok(Expr::And(children))
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if self.tok.is(Keyword::Not) {
            self.enter()?;
            self.advance()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.tok.tok == Tok::LParen {
            self.enter()?;
            let open = self.advance()?.pos;
            let inner = self.or()?;
            if self.tok.tok != Tok::RParen {
                return Err(self.error(format!(
                    "expected ')' to close the '(' at position {open}, AND or OR, found {}",
                    self.tok.describe()
                )));
            }
            self.advance()?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.condition()
    }

    fn condition(&mut self) -> Result<Expr, SyntaxError> {
        let path = self.path()?;
        let op = match self.tok.tok {
            Tok::Eq => Some(CmpOp::Eq),
            Tok::Ne => Some(CmpOp::Ne),
            Tok::Lt => Some(CmpOp::Lt),
            Tok::Le => Some(CmpOp::Le),
            Tok::Gt => Some(CmpOp::Gt),
            Tok::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        let test = if let Some(op) = op {
            self.advance()?;
            Test::Cmp(op, self.value("")?)
        } else if self.tok.is(Keyword::Contains) {
            self.advance()?;
            Test::Contains(self.value("")?)
        } else if self.tok.is(Keyword::In) {
            self.advance()?;
            self.in_list(false)?
        } else if self.tok.is(Keyword::Not) {
            self.advance()?;
            if !self.tok.is(Keyword::In) {
                return Err(self.error(format!("expected IN after NOT, found {}", self.tok.describe())));
            }
            self.advance()?;
            self.in_list(true)?
        } else {
            return Err(self.error(format!("{EXPECTED_OPERATOR}, found {}", self.tok.describe())));
        };
        Ok(Expr::Cond(Condition { path, test }))
    }

    fn path(&mut self) -> Result<Path, SyntaxError> {
        let mut segments = Vec::new();
        match &self.tok.tok {
            Tok::Ident(name) if self.tok.keyword().is_none() => segments.push(name.to_string()),
            Tok::QuotedName(name) => segments.push(name.clone()),
            _ => {
                let hint = match self.tok.keyword() {
                    Some(k) if !matches!(k, Keyword::Not) => {
                        format!(" (a field named {} must be quoted: `{}`)", k.name(), self.tok.text)
                    }
                    _ => String::new(),
                };
                return Err(self.error(format!(
                    "expected a field name, NOT or '(', found {}{hint}",
                    self.tok.describe()
                )));
            }
        }
        self.advance()?;
        while self.tok.tok == Tok::Dot {
            self.advance()?;
            // After a dot a keyword cannot be meant as an operator, so it is taken as a name.
            match &self.tok.tok {
                Tok::Ident(name) => segments.push(name.to_string()),
                Tok::QuotedName(name) => segments.push(name.clone()),
                _ => {
                    return Err(
                        self.error(format!("expected a field name after '.', found {}", self.tok.describe()))
                    )
                }
            }
            self.advance()?;
        }
        Ok(Path { segments: segments.into_boxed_slice() })
    }

    /// A literal value; `note` is added to the message when it is missing.
    fn value(&mut self, note: &str) -> Result<Literal, SyntaxError> {
        let lit = match &self.tok.tok {
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Num(n) => Literal::Num(*n),
            Tok::Ident(name) => match self.tok.keyword() {
                Some(Keyword::True) => Literal::Bool(true),
                Some(Keyword::False) => Literal::Bool(false),
                Some(Keyword::Null) => Literal::Null,
                Some(_) => {
                    return Err(self.error(format!("{EXPECTED_VALUE}, found {}{note}", self.tok.describe())))
                }
                None => {
                    return Err(self.error(format!(
                        "{EXPECTED_VALUE}, found {}{note} (text values are quoted: '{name}')",
                        self.tok.describe()
                    )))
                }
            },
            _ => return Err(self.error(format!("{EXPECTED_VALUE}, found {}{note}", self.tok.describe()))),
        };
        self.advance()?;
        Ok(lit)
    }

    /// `( value, ... )` after IN / NOT IN.
    fn in_list(&mut self, negated: bool) -> Result<Test, SyntaxError> {
        let keyword = if negated { "NOT IN" } else { "IN" };
        if self.tok.tok != Tok::LParen {
            return Err(self.error(format!(
                "expected '(' to start the list of values after {keyword}, found {}",
                self.tok.describe()
            )));
        }
        self.advance()?;
        let mut items = Vec::new();
        loop {
            if items.len() == MAX_IN_ITEMS {
                return Err(self.error(format!(
                    "expected at most {MAX_IN_ITEMS} values in an {keyword} list, found more"
                )));
            }
            let empty = items.is_empty() && self.tok.tok == Tok::RParen;
            let note = if empty { " (an IN list needs at least one value)" } else { "" };
            items.push(self.value(note)?);
            match self.tok.tok {
                Tok::Comma => {
                    self.advance()?;
                }
                Tok::RParen => {
                    self.advance()?;
                    break;
                }
                _ => {
                    return Err(self.error(format!(
                        "expected ',' or ')' in the {keyword} list, found {}",
                        self.tok.describe()
                    )))
                }
            }
        }
        let set = InSet::new(&items);
        Ok(Test::In { negated, items, set })
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    And,
    Or,
}

/// Appends `e` to the children of an AND/OR node, splicing in its children when it is a node of the
/// same kind (from parentheses): the canonical tree has no `OR` directly under an `OR`.
fn push_flat(children: &mut Vec<Expr>, e: Expr, kind: Kind) {
    match (e, kind) {
        (Expr::Or(inner), Kind::Or) | (Expr::And(inner), Kind::And) => children.extend(inner),
        (e, _) => children.push(e),
    }
}
