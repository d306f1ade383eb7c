//! A check of SQL text before sqlparser parses it.
//!
//! sqlparser 0.62 (the version DataFusion 55 pins) re-parses the rest of a dotted chain inside
//! a rollback after every `.`, so a chain that does not parse (`a.b.c…x.#`) costs twice as much
//! per step: 24 steps take 10 s, 30 minutes (upstream apache/datafusion-sqlparser-rs#2344,
//! fixed after 0.62). A `[` subscript nests a chain inside a chain and the costs add up along
//! the nesting. Parsing is synchronous, so such a text would hold a worker with no way to
//! cancel it (found by fuzzing the transform dialog's expressions). Real SQL uses a few steps
//! (`schema.table.column`, a struct's field); counting them over sqlparser's own tokens, which
//! is linear, and refusing past [`MAX_STEPS`] keeps every parse under a few milliseconds.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use super::TableError;

/// Steps in a chain, counted along its `[ ]` nesting, past which a text is refused: 12 steps
/// parse in about 4 ms at worst in a release build (and 2^k times more per step beyond).
pub const MAX_STEPS: u32 = 12;

/// Ok when `sql` has no chain longer than [`MAX_STEPS`], or does not tokenize (the parser then
/// refuses it in its own words, at once).
pub fn check(sql: &str) -> Result<(), TableError> {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location() else {
        return Ok(());
    };
    // Steps of the chain open at each `[` depth; the innermost is last.
    let mut open: Vec<u32> = vec![0];
    let mut previous: Option<&Token> = None;
    for token in &tokens {
        match &token.token {
            Token::Whitespace(_) => continue,
            Token::Period
                if matches!(
                    previous,
                    Some(Token::Word(_) | Token::RBracket | Token::RParen)
                ) =>
            {
                *open.last_mut().expect("never empty") += 1;
                if open.iter().sum::<u32>() > MAX_STEPS {
                    return Err(TableError::Sql {
                        message: format!(
                            "this has more than {MAX_STEPS} `.` steps in one name (as in a.b.c), \
                             which Quire does not read: shorten the name or alias it"
                        ),
                        line: Some(token.span.start.line),
                        column: Some(token.span.start.column),
                    });
                }
            }
            Token::Word(_) | Token::Period => {}
            Token::LBracket => open.push(0),
            Token::RBracket => {
                if open.len() > 1 {
                    open.pop();
                }
            }
            // Anything else (an operator, a comma, a literal) ends the chain at this depth.
            _ => *open.last_mut().expect("never empty") = 0,
        }
        previous = Some(&token.token);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> bool {
        matches!(check(sql), Err(TableError::Sql { .. }))
    }

    #[test]
    fn everyday_sql_passes() {
        for sql in [
            "SELECT a.x, b.y FROM a JOIN b ON a.id = b.id WHERE a.z > 1.5",
            "SELECT s.a.b.c, t['k'].v[1].w FROM t",
            "SELECT \"my.table\".\"col.umn\" FROM \"my.table\"",
            "SELECT 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p' AS text",
            "SELECT 1.5 + 2.25 + 3.125 + 4.0625 + 5.5 + 6.5 + 7.5 + 8.5 + 9.5 + 10.5 + 11.5 + 12.5 + 13.5",
            "x.a + x.b + x.c + x.d + x.e + x.f + x.g + x.h + x.i + x.j + x.k + x.l + x.m + x.n",
            &["a"; (MAX_STEPS + 1) as usize].join("."),
        ] {
            assert!(check(sql).is_ok(), "{sql}");
        }
    }

    #[test]
    fn a_chain_past_the_limit_is_refused_where_it_goes_too_far() {
        let sql = format!("SELECT\n  {}.#", ["a"; 25].join("."));
        let Err(TableError::Sql {
            message,
            line,
            column,
        }) = check(&sql)
        else {
            panic!("a 24-step chain passed");
        };
        assert!(message.contains("more than 12"), "{message}");
        assert_eq!(
            (line, column),
            (Some(2), Some(2 + 2 * (MAX_STEPS as u64 + 1)))
        );
    }

    #[test]
    fn steps_add_up_along_subscripts() {
        assert!(refused(&format!("{}1", "a.b[".repeat(13))));
        assert!(refused(&format!("a{} >O S", ".b[c".repeat(13))));
        // Closed subscripts do not nest: each chain is short.
        assert!(check(&"f(a.b[1]) + ".repeat(20)).is_ok());
    }
}
