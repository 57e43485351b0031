//! `vecstore get` and `vecstore query` (with `--explain` and `--estimate`).

use std::path::PathBuf;

use serde_json::{json, Value};

use super::{parse_vector, print_json, table, CliResult, Ctx, Target};
use crate::namespace::RequestKind;
use crate::store::Query;

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
    /// Record id
    pub id: String,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["vector", "id"])))]
pub struct QueryArgs {
    /// Store directory (or namespace root with --namespace)
    pub dir: PathBuf,
    /// Query vector as a JSON array: '[0.1, 0.2, ...]'
    #[arg(long, allow_hyphen_values = true)]
    pub vector: Option<String>,
    /// Use the vector of this stored record as the query
    #[arg(long)]
    pub id: Option<String>,
    /// Number of results
    #[arg(long, short, default_value_t = 10)]
    pub k: usize,
    /// Metadata filter, such as "category = 'tech' AND year >= 2020"
    #[arg(long)]
    pub filter: Option<String>,
    /// Candidate list size of the graph search (default: the store's)
    #[arg(long)]
    pub ef: Option<usize>,
    /// Explain every result (raw score, filter conditions matched, search work)
    #[arg(long)]
    pub explain: bool,
    /// Estimate the query's cost and plan without running it
    #[arg(long, conflicts_with = "explain")]
    pub estimate: bool,
}

fn metadata_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::String(text.to_string()))
}

/// A vector for a table cell: the first values and the length.
fn short_vector(v: &[f32]) -> String {
    let shown: Vec<String> = v.iter().take(6).map(|x| format!("{x:.4}")).collect();
    if v.len() > 6 {
        format!("[{}, ...] ({} values)", shown.join(", "), v.len())
    } else {
        format!("[{}]", shown.join(", "))
    }
}

pub fn get(ctx: &Ctx, a: GetArgs) -> CliResult<()> {
    let target = Target::open(ctx, &a.dir)?;
    let r = target.call(RequestKind::Read, |s| s.get(&a.id))?;
    target.finish_read();
    if ctx.json {
        print_json(&json!({"id": r.id, "vector": r.vector, "metadata": metadata_value(&r.metadata)}));
    } else {
        table::print_pairs(&[("id", r.id), ("metadata", r.metadata), ("vector", short_vector(&r.vector))]);
    }
    Ok(())
}

pub fn query(ctx: &Ctx, a: QueryArgs) -> CliResult<()> {
    let target = Target::open(ctx, &a.dir)?;
    let vector = match (&a.vector, &a.id) {
        (Some(v), _) => parse_vector(v)?,
        (None, Some(id)) => target.call(RequestKind::Read, |s| s.get(id))?.vector,
        (None, None) => unreachable!("clap requires one of --vector and --id"),
    };
    let q = Query { vector: &vector, k: a.k, filter: a.filter.as_deref(), ef_search: a.ef.unwrap_or(0) };
    if a.estimate {
        let est = target.call(RequestKind::Query, |s| Ok(s.estimate_query(&q)))?;
        target.finish_read();
        if ctx.json {
            print_json(&serde_json::to_value(&est).expect("estimate serialises"));
        } else if !est.valid {
            table::print_pairs(&[("valid", "no".into()), ("errors", est.errors.join("; "))]);
        } else {
            table::print_pairs(&[
                ("valid", "yes".into()),
                ("plan", format!("{} ({})", est.plan.map_or("-", |p| p.name()), est.plan_reason)),
                ("ef_search", est.ef_search.to_string()),
                ("distance calcs", est.estimated_distance_calculations.to_string()),
                ("nodes visited", est.estimated_nodes_visited.to_string()),
                (
                    "matches",
                    format!("{} (selectivity {:.3})", est.estimated_matches, est.estimated_selectivity),
                ),
                ("duration", format!("{:.3} ms (cost {:.3})", est.estimated_duration_ms, est.cost_estimate)),
                ("overfetch", if est.will_overfetch { "yes".into() } else { "no".into() }),
                (
                    "advice",
                    if est.recommendations.is_empty() { "-".into() } else { est.recommendations.join(" ") },
                ),
            ]);
        }
        if !est.valid {
            crate::cli_bail!("the query is not valid: {}", est.errors.join("; "));
        }
        return Ok(());
    }
    if a.explain {
        let hits = target.call(RequestKind::Query, |s| s.query_explain(&q))?;
        target.finish_read();
        if ctx.json {
            let rows: Vec<Value> = hits
                .iter()
                .map(|h| {
                    json!({"id": h.id, "score": h.score, "metadata": metadata_value(&h.metadata),
                           "explanation": serde_json::to_value(&h.explanation).expect("explanation serialises")})
                })
                .collect();
            print_json(&json!({"results": rows}));
        } else {
            let rows: Vec<Vec<String>> = hits
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    vec![(i + 1).to_string(), h.id.clone(), format!("{:.4}", h.score), h.metadata.clone()]
                })
                .collect();
            table::print(&["rank", "id", "score", "metadata"], &rows, &[0, 2]);
            for (i, h) in hits.iter().enumerate() {
                println!("#{} {}: {}", i + 1, h.id, h.explanation.explanation_text());
            }
        }
        return Ok(());
    }
    let hits = target.call(RequestKind::Query, |s| s.query(&q))?;
    target.finish_read();
    if ctx.json {
        let rows: Vec<Value> = hits
            .iter()
            .map(|h| json!({"id": h.id, "score": h.score, "metadata": metadata_value(&h.metadata)}))
            .collect();
        print_json(&json!({"results": rows}));
    } else {
        let rows: Vec<Vec<String>> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| {
                vec![(i + 1).to_string(), h.id.clone(), format!("{:.4}", h.score), h.metadata.clone()]
            })
            .collect();
        table::print(&["rank", "id", "score", "metadata"], &rows, &[0, 2]);
    }
    Ok(())
}
