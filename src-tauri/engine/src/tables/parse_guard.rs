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
    // Steps of the chain open at each bracket depth (`[ ]` and `( )`); the innermost is last.
    // A chain goes on through whatever directly follows a `.` (a word, a quoted name, a
    // string, a bracketed part: sqlparser 0.62 tries each), so only a token that does not
    // follow a `.` ends it.
    let mut open: Vec<u32> = vec![0];
    let mut after_dot = false;
    for token in &tokens {
        let top = open.last_mut().expect("never empty");
        match &token.token {
            Token::Whitespace(_) => continue,
            Token::Period => {
                *top += 1;
                if open.iter().sum::<u32>() > MAX_STEPS {
                    return Err(TableError::Sql {
                        message: format!(
                            "this chains more than {MAX_STEPS} names with `.` (as in a.b.c), \
                             which Quire does not read: shorten the chain or use an alias"
                        ),
                        line: Some(token.span.start.line),
                        column: Some(token.span.start.column),
                    });
                }
                after_dot = true;
                continue;
            }
            Token::LBracket | Token::LParen => {
                open.push(0);
            }
            Token::RBracket | Token::RParen => {
                if open.len() > 1 {
                    open.pop();
                }
            }
            // Continues the chain right after a `.`; anything else starts again at this depth.
            _ if after_dot => {}
            _ => *top = 0,
        }
        after_dot = false;
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
            // Keywords between dotted names end each chain.
            "SELECT * FROM t WHERE t.a IS NOT NULL AND t.b IS NOT NULL AND t.c IS NOT NULL AND t.d IS NOT NULL AND t.e IS NOT NULL AND t.f IS NOT NULL AND t.g IS NOT NULL AND t.h IS NOT NULL AND t.i IS NOT NULL AND t.j IS NOT NULL AND t.k IS NOT NULL AND t.l IS NOT NULL AND t.m IS NOT NULL",
            "SELECT * FROM a JOIN b ON a.k1 IS NOT DISTINCT FROM b.k1 AND a.k2 IS NOT DISTINCT FROM b.k2 AND a.k3 IS NOT DISTINCT FROM b.k3 AND a.k4 IS NOT DISTINCT FROM b.k4 AND a.k5 IS NOT DISTINCT FROM b.k5 AND a.k6 IS NOT DISTINCT FROM b.k6 AND a.k7 IS NOT DISTINCT FROM b.k7",
            "SELECT f(g(h(a.b, c.d), e.f), i.j) FROM s.t",
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
        assert!(message.contains("more than 12 names with `.`"), "{message}");
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

    /// sqlparser goes on with a chain through a string, a placeholder or a bracketed part
    /// after a `.`, and its cost doubles on every word part: so does the count.
    #[test]
    fn a_chain_continues_through_strings_placeholders_and_brackets() {
        assert!(refused(&format!("{}.#", ["a", "'s'"].repeat(10).join("."))));
        assert!(refused(&format!("{}.#", ["a", "$1"].repeat(10).join("."))));
        assert!(refused(&format!("{}.#", ["a", "(b)"].repeat(10).join("."))));
    }
}
