//! The README's "Built-in rules" table, generated from the rule data so that the two cannot
//! disagree (`tests/generated.rs` fails when they do).

use resourceequality::config::{ConditionSpec, RuleSpec};

fn code(s: &str) -> String {
    format!("`{}`", s.replace('|', "\\|"))
}

fn condition(c: &ConditionSpec) -> String {
    let k = code(&c.key);
    let mut s = if let Some(v) = &c.equals {
        format!("{k} = {}", code(v))
    } else if let Some(vs) = &c.one_of {
        format!("{k} ∈ {{{}}}", vs.iter().map(|v| code(v)).collect::<Vec<_>>().join(", "))
    } else if let Some(p) = &c.prefix {
        format!("{k} starts with {}", code(p))
    } else if c.absent == Some(true) || c.present == Some(false) {
        format!("no {k}")
    } else {
        format!("{k} present")
    };
    if c.or_absent {
        s.push_str(" (or absent)");
    }
    s
}

/// One Markdown row per rule, in precedence order.
pub fn markdown(rules: &[RuleSpec]) -> String {
    let mut out = String::from(
        "| # | Rule | Type | Identity (alternatives, in order) | Applies when | Derivations | Containers |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|\n");
    for (i, r) in rules.iter().enumerate() {
        let mut identity = r
            .identity
            .iter()
            .map(|alt| alt.iter().map(|k| code(k)).collect::<Vec<_>>().join(" + "))
            .collect::<Vec<_>>()
            .join("<br>or ");
        for (k, scopes) in &r.scoped_by {
            let scopes = scopes.iter().map(|k| code(k)).collect::<Vec<_>>().join(", ");
            identity.push_str(&format!("<br>({} unique within {scopes})", code(k)));
        }
        for (k, re) in &r.unidentifying_values {
            identity.push_str(&format!("<br>(a {} matching {} identifies nothing)", code(k), code(re)));
        }
        let codes = |keys: &[String]| keys.iter().map(|k| code(k)).collect::<Vec<_>>().join(", ");
        let mut entity_type = code(&r.entity_type);
        if !r.entity_ref_types.is_empty() {
            entity_type.push_str(&format!(" (declared as {})", codes(&r.entity_ref_types)));
        }
        let containers = r.containers.as_ref().map_or(String::new(), |c| {
            let mut s = format!("named by {}; per container: {}", codes(&c.named_by), codes(&c.scoped));
            if !c.shared_when_agreed.is_empty() {
                s.push_str(&format!(
                    "; {} also from sources naming no container, into containers that reported none, and into resources naming none when all agree",
                    codes(&c.shared_when_agreed)
                ));
            }
            s
        });
        let mut when: Vec<String> = r.when.iter().map(condition).collect();
        if !r.unless_present.is_empty() {
            when.push(format!("none of {}", r.unless_present.iter().map(|k| code(k)).collect::<Vec<_>>().join(", ")));
        }
        if let Some(alongside) = &r.alongside {
            let beside: Vec<String> = alongside.iter().map(|t| code(t)).collect();
            when.push(if beside.is_empty() {
                "the resource describes no other object".to_string()
            } else {
                format!("the resource describes no other object than {}", beside.join(", "))
            });
        }
        let derive = r
            .derive
            .iter()
            .map(|d| {
                let mut s = format!("{} ← {}", code(&d.attribute), code(&d.from));
                if let Some(p) = &d.strip_prefix {
                    s.push_str(&format!(" without {}", code(p)));
                }
                if let Some(re) = &d.capture {
                    s.push_str(&format!(" captured by {}", code(re)));
                }
                if !d.when.is_empty() {
                    s.push_str(&format!(" if {}", d.when.iter().map(condition).collect::<Vec<_>>().join(", ")));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("<br>");
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} | {} |\n",
            i + 1,
            r.name,
            entity_type,
            if identity == "`*`" { "every attribute (exact match)".into() } else { identity },
            if when.is_empty() { "always".into() } else { when.join("; ") },
            derive,
            containers
        ));
    }
    out
}
