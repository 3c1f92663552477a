//! The README's "Built-in rules" section is generated from `rust/rules/builtin.json`; this test
//! fails when they disagree. Regenerate with `RE_UPDATE_README=1 cargo test --test readme`
//! (or `make readme-rules`).

mod common;

const BEGIN: &str = "<!-- BEGIN GENERATED RULE TABLE: edit rust/rules/builtin.json, then run `make readme-rules` -->\n";
const END: &str = "<!-- END GENERATED RULE TABLE -->";

#[test]
fn readme_rule_table_matches_the_rule_data() {
    let path = common::repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let table = resourceequality::rule_table::markdown(resourceequality::builtin_rules());
    let start = readme.find(BEGIN).expect("README has the generated-table begin marker") + BEGIN.len();
    let end = readme.find(END).expect("README has the generated-table end marker");
    if std::env::var_os("RE_UPDATE_README").is_some() {
        let updated = format!("{}{}{}", &readme[..start], table, &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        readme[start..end] == table,
        "README's rule table is stale: run `make readme-rules` (RE_UPDATE_README=1 cargo test --test readme)"
    );
    assert!(readme[..start].contains("## Built-in rules"), "the table sits under '## Built-in rules'");
}
