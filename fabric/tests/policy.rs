//! The policy language against Fabric's own test vectors (common/policydsl/policyparser_test.go,
//! common/cauthdsl, common/policies/implicitmeta*), and evaluation semantics.

use prost::Message as _;
use sfcbc_fabric::error::PolicyError;
use sfcbc_fabric::msp::MspRole;
use sfcbc_fabric::policy::{
    CompiledPolicy, RoleHolder, from_string, implicit_meta_satisfied, n_out_of,
    parse_implicit_meta, role_principal, signed_by, signed_by_any,
};
use sfcbc_fabric::protos::common::{
    ImplicitMetaPolicy, MspPrincipal, SignaturePolicyEnvelope, implicit_meta_policy,
};

fn env(
    rule: sfcbc_fabric::protos::common::SignaturePolicy,
    ids: &[(&str, MspRole)],
) -> SignaturePolicyEnvelope {
    SignaturePolicyEnvelope {
        version: 0,
        rule: Some(rule),
        identities: ids.iter().map(|(m, r)| role_principal(m, *r)).collect(),
    }
}

use MspRole::{Admin, Client, Member, Orderer, Peer};

#[test]
fn out_of_and_or() {
    assert_eq!(
        from_string("OutOf(1, 'A.member', 'B.member')").unwrap(),
        env(
            n_out_of(1, vec![signed_by(0), signed_by(1)]),
            &[("A", Member), ("B", Member)]
        )
    );
    assert_eq!(
        from_string("OutOf(2, 'A.member', 'B.member')").unwrap(),
        env(
            n_out_of(2, vec![signed_by(0), signed_by(1)]),
            &[("A", Member), ("B", Member)]
        )
    );
    assert_eq!(
        from_string("AND('A.member', 'B.member')").unwrap(),
        env(
            n_out_of(2, vec![signed_by(0), signed_by(1)]),
            &[("A", Member), ("B", Member)]
        )
    );
    assert_eq!(
        from_string("AND('A.client', 'B.peer')").unwrap(),
        env(
            n_out_of(2, vec![signed_by(0), signed_by(1)]),
            &[("A", Client), ("B", Peer)]
        )
    );
    assert_eq!(
        from_string("OR('A.member', 'B.member')").unwrap(),
        env(
            n_out_of(1, vec![signed_by(0), signed_by(1)]),
            &[("A", Member), ("B", Member)]
        )
    );
}

#[test]
fn nested_gates_number_inner_principals_first() {
    // TestComplex1: B, C (inner AND) are numbered before A.
    assert_eq!(
        from_string("OR('A.member', AND('B.member', 'C.member'))").unwrap(),
        env(
            n_out_of(
                1,
                vec![signed_by(2), n_out_of(2, vec![signed_by(0), signed_by(1)])]
            ),
            &[("B", Member), ("C", Member), ("A", Member)]
        )
    );
    // TestComplex2.
    assert_eq!(
        from_string("OR(AND('A.member', 'B.member'), OR('C.admin', 'D.member'))").unwrap(),
        env(
            n_out_of(
                1,
                vec![
                    n_out_of(2, vec![signed_by(0), signed_by(1)]),
                    n_out_of(1, vec![signed_by(2), signed_by(3)])
                ]
            ),
            &[("A", Member), ("B", Member), ("C", Admin), ("D", Member)]
        )
    );
}

#[test]
fn msp_ids_with_dots_and_dashes_and_all_roles() {
    assert_eq!(
        from_string("OR('MSP.member', 'MSP.WITH.DOTS.member', 'MSP-WITH-DASHES.member')").unwrap(),
        env(
            n_out_of(1, vec![signed_by(0), signed_by(1), signed_by(2)]),
            &[
                ("MSP", Member),
                ("MSP.WITH.DOTS", Member),
                ("MSP-WITH-DASHES", Member)
            ]
        )
    );
    assert_eq!(
        from_string("OR('A.peer', 'B.admin', 'C.orderer', 'D.client')").unwrap(),
        env(
            n_out_of(
                1,
                vec![signed_by(0), signed_by(1), signed_by(2), signed_by(3)]
            ),
            &[("A", Peer), ("B", Admin), ("C", Orderer), ("D", Client)]
        )
    );
}

#[test]
fn principals_are_not_deduplicated() {
    // Fabric's secondPass has "TODO: deduplicate principals"; the bytes must match Fabric's.
    let e = from_string("AND('A.member', 'A.member')").unwrap();
    assert_eq!(e.identities.len(), 2);
    assert_eq!(e.identities[0], e.identities[1]);
}

#[test]
fn gate_spellings_quotes_and_whitespace() {
    let want = from_string("OR('A.member', 'B.member')").unwrap();
    for s in [
        "Or('A.member','B.member')",
        "OR(\"A.member\", \"B.member\")",
        "OR(`A.member`, 'B.member')",
        "  OR (\n\t'A.member' ,\r\n 'B.member' )  ",
        "OutOf(1, 'A.member', 'B.member')",
        "outof(1, 'A.member', 'B.member')",
        "OUTOF(1, 'A.member', 'B.member')",
        "OutOf('1', 'A.member', 'B.member')",
        "OutOf(1.0, 'A.member', 'B.member')",
        "OR(('A.member'), 'B.member')",
        // Fabric pastes non-principal strings back as code: a quoted gate is a gate.
        "OR('A.member', 'B.member')",
    ] {
        assert_eq!(from_string(s).unwrap(), want, "{s}");
    }
    let and = from_string("AND('A.member', 'B.member')").unwrap();
    assert_eq!(from_string("And('A.member', 'B.member')").unwrap(), and);
    // A nested policy smuggled in as a string, as Fabric's passes allow.
    assert_eq!(
        from_string(r"OR('A.member', 'outof(1, \'B.member\')')").unwrap(),
        env(
            n_out_of(1, vec![signed_by(1), n_out_of(1, vec![signed_by(0)])]),
            &[("B", Member), ("A", Member)]
        )
    );
}

#[test]
fn boundaries_of_t() {
    assert_eq!(
        from_string("OutOf(-1, 'A.member', 'B.member')").unwrap_err(),
        PolicyError::OutOfRange { t: -1, n: 2 }
    );
    // t == 0 (always satisfied) and t == n + 1 (never) are allowed, t > n + 1 is not.
    assert!(from_string("OutOf(0, 'A.member', 'B.member')").is_ok());
    assert!(from_string("OutOf(3, 'A.member', 'B.member')").is_ok());
    assert_eq!(
        from_string("OutOf(4, 'A.member', 'B.member')").unwrap_err(),
        PolicyError::OutOfRange { t: 4, n: 2 }
    );
}

#[test]
fn fabric_error_cases_are_errors() {
    for s in [
        "",
        "OutOf(1)",
        "OutOf(true, 'A.member')",
        "OutOf(1, 2)",
        "OutOf(1, 'true')",
        r"OutOf('\'\\\'A\\\'\'', 'B.member')",
        r"OutOf(1, '\'1\'')",
        "''",
        r"'\'\''",
        "1",
        "'1'",
        r"'\'1\''",
        "OR('A.member', Bmember)",
        "OR('A.member', 'Bmember')",
        r"OR('A.member', '\'Bmember\'')",
        "'A.member'",
        "AND()",
        "OR('A.member',)",
        "OR('A.member' 'B.member')",
        "OR('A.member', 'B.member'",
        "OR('A.member', 'B.member'))",
        "OR('A.superuser')",
        "OR('.member')",
        "OR('A B.member')",
        // Lower-case and/or are operators in expr-lang: Fabric rejects them.
        "and('A.member', 'B.member')",
        "or('A.member', 'B.member')",
        "NOT('A.member')",
        "OR('A.member', 1 + 1)",
    ] {
        assert!(from_string(s).is_err(), "{s:?} must be rejected");
    }
    assert_eq!(
        from_string("OR('A.member', Bmember)").unwrap_err(),
        PolicyError::UnknownName("Bmember".into())
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut s = String::new();
    for _ in 0..10_000 {
        s.push_str("OR(");
    }
    s.push_str("'A.member'");
    for _ in 0..10_000 {
        s.push(')');
    }
    assert!(matches!(from_string(&s), Err(PolicyError::TooDeep(_))));
}

fn holders(list: &[(&str, &[MspRole])]) -> Vec<RoleHolder> {
    list.iter().map(|(m, r)| RoleHolder::new(*m, r)).collect()
}

#[test]
fn evaluation_and_or_outof() {
    let p =
        CompiledPolicy::new(&from_string("AND('Org1MSP.peer', 'Org2MSP.peer')").unwrap()).unwrap();
    assert!(p.evaluate(&holders(&[("Org1MSP", &[Peer]), ("Org2MSP", &[Peer])])));
    assert!(!p.evaluate(&holders(&[("Org1MSP", &[Peer])])));
    assert!(!p.evaluate(&holders(&[("Org1MSP", &[Peer]), ("Org2MSP", &[Client])])));
    assert!(!p.evaluate::<RoleHolder>(&[]));

    let p = CompiledPolicy::new(
        &from_string("OutOf(2, 'Org1MSP.member', 'Org2MSP.member', 'Org3MSP.member')").unwrap(),
    )
    .unwrap();
    assert!(p.evaluate(&holders(&[("Org3MSP", &[]), ("Org1MSP", &[])])));
    assert!(!p.evaluate(&holders(&[("Org3MSP", &[]), ("Org4MSP", &[])])));

    let member_of_admin =
        CompiledPolicy::new(&from_string("OR('Org1MSP.member')").unwrap()).unwrap();
    assert!(member_of_admin.evaluate(&holders(&[("Org1MSP", &[Admin])])));
    let admin = CompiledPolicy::new(&from_string("OR('Org1MSP.admin')").unwrap()).unwrap();
    assert!(!admin.evaluate(&holders(&[("Org1MSP", &[Client])])));
}

#[test]
fn each_signature_is_used_once() {
    // Two principals of the same org need two distinct signers (cauthdsl's `used`).
    let p = CompiledPolicy::new(&from_string("AND('A.member', 'A.member')").unwrap()).unwrap();
    assert!(!p.evaluate(&holders(&[("A", &[])])));
    assert!(p.evaluate(&holders(&[("A", &[]), ("A", &[])])));
}

#[test]
fn evaluation_is_greedy_like_fabric() {
    // AND('A.member', 'A.admin') with signers [admin, member]: the first principal (member)
    // takes the admin signer, the second (admin) finds only the plain member: Fabric rejects
    // although the other assignment would satisfy it. Order [member, admin] passes.
    let p = CompiledPolicy::new(&from_string("AND('A.member', 'A.admin')").unwrap()).unwrap();
    assert!(!p.evaluate(&holders(&[("A", &[Admin]), ("A", &[])])));
    assert!(p.evaluate(&holders(&[("A", &[]), ("A", &[Admin])])));
}

#[test]
fn failed_sub_gates_do_not_consume_signatures() {
    // OR(AND(A, B), A): the AND fails with only A; its tentative use of A is rolled back,
    // so the second branch can use A.
    let p =
        CompiledPolicy::new(&from_string("OR(AND('A.member', 'B.member'), 'A.member')").unwrap())
            .unwrap();
    assert!(p.evaluate(&holders(&[("A", &[])])));
    // But an N-of-M gate keeps what satisfied sub-gates used: OutOf(2, A, A) with one A.
    let p =
        CompiledPolicy::new(&from_string("OutOf(2, 'A.member', OR('A.member'))").unwrap()).unwrap();
    assert!(!p.evaluate(&holders(&[("A", &[])])));
}

#[test]
fn accept_all_and_reject_all() {
    // Fabric's AcceptAllPolicy (NOutOf(0, [])) and RejectAllPolicy (NOutOf(1, [])).
    let accept = CompiledPolicy::new(&env(n_out_of(0, vec![]), &[])).unwrap();
    assert!(accept.evaluate::<RoleHolder>(&[]));
    let reject = CompiledPolicy::new(&env(n_out_of(1, vec![]), &[])).unwrap();
    assert!(!reject.evaluate(&holders(&[("A", &[Admin])])));
}

#[test]
fn malformed_envelopes_are_errors() {
    assert!(CompiledPolicy::new(&env(signed_by(0), &[])).is_err());
    assert!(CompiledPolicy::new(&env(signed_by(-1), &[("A", Member)])).is_err());
    let mut e = env(signed_by(0), &[("A", Member)]);
    e.version = 1;
    assert!(CompiledPolicy::new(&e).is_err());
    e.version = 0;
    e.rule = None;
    assert!(CompiledPolicy::new(&e).is_err());
    assert!(CompiledPolicy::from_bytes(b"\xff\xff").is_err());
    let ok = env(signed_by(0), &[("A", Member)]).encode_to_vec();
    assert!(CompiledPolicy::from_bytes(&ok).is_ok());
    // A principal that is not an MSPRole never matches a RoleHolder.
    let mut e = env(signed_by(0), &[]);
    e.identities.push(MspPrincipal {
        principal_classification: 0,
        principal: b"\xff".to_vec(),
    });
    let p = CompiledPolicy::new(&e).unwrap();
    assert!(!p.evaluate(&holders(&[("A", &[Admin])])));
}

#[test]
fn signed_by_any_sorts_msps() {
    let e = signed_by_any(&["Org2MSP", "Org1MSP"], Member);
    assert_eq!(
        e,
        env(
            n_out_of(1, vec![signed_by(0), signed_by(1)]),
            &[("Org1MSP", Member), ("Org2MSP", Member)]
        )
    );
}

#[test]
fn implicit_meta_parse() {
    use implicit_meta_policy::Rule;
    for (s, rule, sub) in [
        ("ANY Readers", Rule::Any, "Readers"),
        ("ALL Writers", Rule::All, "Writers"),
        ("MAJORITY Endorsement", Rule::Majority, "Endorsement"),
        ("ANY ", Rule::Any, ""),
    ] {
        assert_eq!(
            parse_implicit_meta(s).unwrap(),
            ImplicitMetaPolicy {
                sub_policy: sub.into(),
                rule: rule as i32
            },
            "{s}"
        );
    }
    for s in [
        "",
        "ANY",
        "ANY  Readers",
        "any Readers",
        "SOME Readers",
        " ANY Readers",
        "ANY Readers x",
    ] {
        assert!(parse_implicit_meta(s).is_err(), "{s:?}");
    }
}

#[test]
fn implicit_meta_thresholds() {
    let any = parse_implicit_meta("ANY Readers").unwrap();
    let all = parse_implicit_meta("ALL Readers").unwrap();
    let maj = parse_implicit_meta("MAJORITY Readers").unwrap();
    // No sub-groups: satisfied (Fabric's threshold 0).
    for p in [&any, &all, &maj] {
        assert!(implicit_meta_satisfied(p, &[]));
    }
    assert!(implicit_meta_satisfied(&any, &[false, true, false]));
    assert!(!implicit_meta_satisfied(&any, &[false, false]));
    assert!(!implicit_meta_satisfied(&all, &[true, false]));
    assert!(implicit_meta_satisfied(&all, &[true, true]));
    // MAJORITY of 4 is 3, of 3 is 2, of 2 is 2.
    assert!(!implicit_meta_satisfied(&maj, &[true, true, false, false]));
    assert!(implicit_meta_satisfied(&maj, &[true, true, true, false]));
    assert!(implicit_meta_satisfied(&maj, &[true, false, true]));
    assert!(!implicit_meta_satisfied(&maj, &[true, false]));
}
