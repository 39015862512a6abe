//! `[[commands]]` templates: parsing, values per place (argv, shell, URL),
//! context values, and the names errors give.

use super::*;
use crate::domain::Status;
use chrono::{TimeZone, Utc};

fn row(remote_id: Option<&str>, name: &str) -> Execution {
    Execution {
        id: "17".into(),
        remote_id: remote_id.map(str::to_string),
        name: Some(name.into()),
        group: Some("etl".into()),
        status: Status::Running,
        raw_status: "RUNNING".into(),
        created_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        started_at: None,
        updated_at: None,
        completed_at: None,
        heartbeat_at: None,
        error: None,
        error_count: None,
    }
}

fn argv(parts: &[&str]) -> RowCommand {
    RowCommand {
        key: "H".into(),
        description: "history".into(),
        run: RunMode::Show,
        target: Target::Argv(
            parts
                .iter()
                .map(|p| Template::parse(p, Names::FieldsOnly).unwrap())
                .collect(),
        ),
        changes: false,
        timeout: Duration::from_secs(10),
    }
}

#[test]
fn unknown_fields_and_stray_braces_are_named() {
    let err = Template::parse("x {foo} y", Names::FieldsOnly).unwrap_err();
    assert!(
        err.starts_with("unknown field {foo} (known fields: id, remote_id"),
        "{err}"
    );
    assert!(
        Template::parse("{id", Names::FieldsOnly)
            .unwrap_err()
            .contains("unclosed {id")
    );
    assert!(
        Template::parse("a}b", Names::FieldsOnly)
            .unwrap_err()
            .contains("lone }")
    );
    let t = Template::parse("{{{id}}}", Names::FieldsOnly).unwrap();
    assert_eq!(
        t.render(&row(None, "n"), None, str::to_string).unwrap(),
        "{17}"
    );
}

#[test]
fn values_with_spaces_quotes_and_newlines_stay_one_argument() {
    let nasty = "a b 'c' \"d\"\n$(rm -rf /);e";
    let cmd = argv(&["echo", "--name={name}", "{id}"]);
    let Rendered::Argv(args) = cmd.render(&row(None, nasty), None).unwrap() else {
        panic!("argv")
    };
    assert_eq!(
        args,
        vec!["echo".to_string(), format!("--name={nasty}"), "17".into()]
    );
}

#[test]
fn shell_values_are_quoted_so_sh_reads_them_back_exactly() {
    let nasty = "it's a \"test\"\n; touch /tmp/pwned `id` $HOME";
    let cmd = RowCommand {
        target: Target::Shell(
            Template::parse("printf '%s' {name} | wc -c", Names::FieldsOnly).unwrap(),
        ),
        ..argv(&[])
    };
    let Rendered::Shell(text) = cmd.render(&row(None, nasty), None).unwrap() else {
        panic!("shell")
    };
    let quoted = shell_quote(nasty);
    assert_eq!(text, format!("printf '%s' {quoted} | wc -c"));
    // sh gives the value back byte for byte.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf '%s' {quoted}"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), nasty);
    assert!(cmd.help_text().contains("runs a shell"));
}

#[test]
fn an_empty_field_is_named_at_render() {
    let cmd = argv(&["aws", "--arn", "{remote_id}"]);
    assert_eq!(
        cmd.render(&row(None, "n"), None).unwrap_err(),
        "field {remote_id} is empty on this row"
    );
    assert_eq!(
        cmd.render(&row(Some(""), "n"), None).unwrap_err(),
        "field {remote_id} is empty on this row"
    );
}

#[test]
fn url_values_cannot_leave_their_place() {
    let cmd = RowCommand {
        target: Target::Url(
            Template::parse(
                "https://c.example/#/executions/{remote_id}?g={group}",
                Names::FieldsOnly,
            )
            .unwrap(),
        ),
        ..argv(&[])
    };
    let Rendered::Url(url) = cmd
        .render(&row(Some("arn:aws:states:x/../y?z=1#f"), "n"), None)
        .unwrap()
    else {
        panic!("url")
    };
    assert_eq!(
        url,
        "https://c.example/#/executions/arn:aws:states:x%2F..%2Fy%3Fz%3D1%23f?g=etl"
    );
}

#[test]
fn copied_text_quotes_only_what_needs_it() {
    let r = Rendered::Argv(vec!["echo".into(), "a b".into(), "it's".into(), "".into()]);
    assert_eq!(r.text(), r"echo 'a b' 'it'\''s' ''");
    assert_eq!(
        argv(&["x", "{created_at}"])
            .render(&row(None, "n"), None)
            .unwrap()
            .text(),
        "x 2026-01-02T03:04:05+00:00"
    );
}

fn context(pairs: &[(&str, &str)]) -> ContextValues {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_context_column_is_a_name_only_where_a_context_query_gives_it() {
    let err = Template::parse("{instance_id}", Names::FieldsOnly).unwrap_err();
    assert!(err.starts_with("unknown field {instance_id} (known fields: id,"));
    assert!(
        err.ends_with("; a context column needs [remote.context])"),
        "{err}"
    );
    let t = Template::parse("amc/{instance_id}/{remote_id}", Names::WithContext).unwrap();
    assert_eq!(t.context_columns().collect::<Vec<_>>(), ["instance_id"]);
    // A field stays a field, and a secret is never a column.
    let fields = Template::parse("{id}-{group}", Names::WithContext).unwrap();
    assert_eq!(fields.context_columns().count(), 0);
    for names in [Names::FieldsOnly, Names::WithContext] {
        let err = Template::parse("x {secret.token}", names).unwrap_err();
        assert!(
            err.starts_with("{secret.token}: secrets are never put into commands"),
            "{err}"
        );
    }
    let odd = Template::parse("{a b}", Names::WithContext).unwrap_err();
    assert!(odd.contains("neither a field"), "{odd}");
    assert!(Template::parse("{}", Names::WithContext).is_err());
}

#[test]
fn context_values_are_rendered_and_encoded_like_fields() {
    let cmd = RowCommand {
        target: Target::Url(
            Template::parse(
                "https://c.example/{instance_id}/x/{remote_id}?a={advertiser_id}",
                Names::WithContext,
            )
            .unwrap(),
        ),
        ..argv(&[])
    };
    assert!(cmd.uses_context());
    assert_eq!(cmd.context_columns(), ["instance_id", "advertiser_id"]);
    assert!(!argv(&["echo", "{id}"]).uses_context());
    let ctx = context(&[
        ("key", "etl"),
        ("instance_id", "amc a/b"),
        ("advertiser_id", "E1"),
    ]);
    let Rendered::Url(url) = cmd.render(&row(Some("r1"), "n"), Some(&ctx)).unwrap() else {
        panic!("url")
    };
    assert_eq!(url, "https://c.example/amc%20a%2Fb/x/r1?a=E1");
    // Quoted for a shell like any value.
    let shell = RowCommand {
        target: Target::Shell(Template::parse("echo {instance_id}", Names::WithContext).unwrap()),
        ..argv(&[])
    };
    assert_eq!(
        shell.render(&row(None, "n"), Some(&ctx)).unwrap(),
        Rendered::Shell("echo 'amc a/b'".into())
    );
}

#[test]
fn an_empty_or_unread_context_value_is_named() {
    let cmd = RowCommand {
        target: Target::Argv(vec![
            Template::parse("echo", Names::WithContext).unwrap(),
            Template::parse("{marketplace_id}", Names::WithContext).unwrap(),
        ]),
        ..argv(&[])
    };
    let r = row(None, "n");
    assert_eq!(
        cmd.render(&r, Some(&context(&[("key", "etl")])))
            .unwrap_err(),
        "context value {marketplace_id} is empty for this row"
    );
    assert_eq!(
        cmd.render(&r, Some(&context(&[("marketplace_id", "")])))
            .unwrap_err(),
        "context value {marketplace_id} is empty for this row"
    );
    assert!(cmd.render(&r, None).unwrap_err().contains("not read"));
}
