//! What endorser and validator need from a channel's configuration: its MSPs, its
//! application orgs, and its policies by path (`/Channel/Application/Writers`,
//! `/Channel/Application/Org1/Endorsement`, ...).
//!
//! [`ChannelPolicies`] is the seam: the channel configuration bundle parsed from config
//! block 0 implements it; [`StaticChannel`] is a small implementation built in code, with
//! the policies fabric-samples' `configtx.yaml` gives every org and the application group.

use std::collections::BTreeMap;

use sfcbc_fabric::msp::{MspManager, MspVerifier, ValidatedIdentity};
use sfcbc_fabric::policy::{
    CompiledPolicy, from_string, implicit_meta_satisfied, parse_implicit_meta,
};
use sfcbc_fabric::protos::common::ImplicitMetaPolicy;

/// A channel's MSPs and policies.
pub trait ChannelPolicies: Send + Sync {
    /// The channel's MSPs (application and orderer orgs).
    fn msps(&self) -> &MspManager;

    /// The application orgs as (config group name, MSP ID), in config order.
    fn application_orgs(&self) -> Vec<(String, String)>;

    /// Whether a policy exists at `path` (e.g. `/Channel/Application/Org1/Endorsement`).
    fn has_policy(&self, path: &str) -> bool;

    /// Evaluates the policy at `path` against signers whose identities and signatures were
    /// already checked (each once). `Err` says why it is not satisfied, in Fabric's words
    /// where Fabric has some.
    fn evaluate(&self, path: &str, signers: &[ValidatedIdentity]) -> Result<(), String>;

    /// The application org (config group name) whose MSP is `msp_id`.
    fn application_org_of(&self, msp_id: &str) -> Option<String> {
        self.application_orgs()
            .into_iter()
            .find(|(_, m)| m == msp_id)
            .map(|(name, _)| name)
    }

    /// An ImplicitMeta rule over the application orgs' `sub_policy` (what a channel
    /// ImplicitMeta policy in the Application group does: every org counts, an org without
    /// the sub-policy never satisfies it, as Fabric's reject policy).
    fn evaluate_application_meta(
        &self,
        meta: &ImplicitMetaPolicy,
        signers: &[ValidatedIdentity],
    ) -> Result<(), String> {
        let results: Vec<bool> = self
            .application_orgs()
            .into_iter()
            .map(|(org, _)| {
                let path = format!("/Channel/Application/{org}/{}", meta.sub_policy);
                self.has_policy(&path) && self.evaluate(&path, signers).is_ok()
            })
            .collect();
        implicit_meta_check(meta, &results)
    }
}

/// Fabric's message for an unsatisfied ImplicitMeta policy.
pub fn implicit_meta_check(meta: &ImplicitMetaPolicy, results: &[bool]) -> Result<(), String> {
    if implicit_meta_satisfied(meta, results) {
        return Ok(());
    }
    let need = sfcbc_fabric::policy::implicit_meta_threshold(meta, results.len());
    let got = results.iter().filter(|r| **r).count();
    Err(format!(
        "implicit policy evaluation failed - {got} sub-policies were satisfied, but this policy \
         requires {need} of the '{}' sub-policies to be satisfied",
        meta.sub_policy
    ))
}

/// A policy in a channel configuration.
#[derive(Debug, Clone)]
pub enum ChannelPolicy {
    Signature(CompiledPolicy),
    ImplicitMeta(ImplicitMetaPolicy),
}

impl ChannelPolicy {
    /// `ANY|ALL|MAJORITY Sub` or a signature-policy string, as `configtx.yaml` writes them.
    pub fn parse(rule: &str) -> Result<Self, String> {
        if let Ok(m) = parse_implicit_meta(rule) {
            return Ok(Self::ImplicitMeta(m));
        }
        let env = from_string(rule).map_err(|e| format!("policy `{rule}`: {e}"))?;
        CompiledPolicy::new(&env)
            .map(Self::Signature)
            .map_err(|e| format!("policy `{rule}`: {e}"))
    }
}

/// One application org of a [`StaticChannel`].
#[derive(Debug, Clone)]
pub struct StaticOrg {
    /// Config group name (`Org1`), which channel policy paths use.
    pub name: String,
    pub msp_id: String,
    /// Org-level policies by name (`Readers`, `Writers`, `Admins`, `Endorsement`).
    pub policies: BTreeMap<String, CompiledPolicy>,
}

/// A channel configuration built in code.
#[derive(Debug, Clone, Default)]
pub struct StaticChannel {
    msps: MspManager,
    orgs: Vec<StaticOrg>,
    /// `/Channel/Application/<name>` policies.
    application: BTreeMap<String, ChannelPolicy>,
}

impl StaticChannel {
    /// A channel with fabric-samples' application policies: Readers `ANY Readers`, Writers
    /// `ANY Writers`, Admins `MAJORITY Admins`, LifecycleEndorsement and Endorsement
    /// `MAJORITY Endorsement`.
    pub fn new() -> Self {
        let mut application = BTreeMap::new();
        for (name, rule) in [
            ("Readers", "ANY Readers"),
            ("Writers", "ANY Writers"),
            ("Admins", "MAJORITY Admins"),
            ("LifecycleEndorsement", "MAJORITY Endorsement"),
            ("Endorsement", "MAJORITY Endorsement"),
        ] {
            application.insert(
                name.to_owned(),
                ChannelPolicy::parse(rule).expect("valid built-in rule"),
            );
        }
        Self {
            msps: MspManager::new(),
            orgs: Vec::new(),
            application,
        }
    }

    /// Adds an application org with fabric-samples' org policies: Readers
    /// `OR(admin, peer, client)`, Writers `OR(admin, client)`, Admins `OR(admin)`,
    /// Endorsement `OR(peer)`.
    pub fn with_org(self, name: &str, verifier: MspVerifier) -> Self {
        let m = verifier.msp_id().to_owned();
        let policies = [
            (
                "Readers",
                format!("OR('{m}.admin', '{m}.peer', '{m}.client')"),
            ),
            ("Writers", format!("OR('{m}.admin', '{m}.client')")),
            ("Admins", format!("OR('{m}.admin')")),
            ("Endorsement", format!("OR('{m}.peer')")),
        ];
        let policies = policies
            .iter()
            .map(|(n, r)| (n.to_string(), r.clone()))
            .collect::<Vec<_>>();
        self.with_org_policies(name, verifier, &policies)
            .expect("valid built-in org policies")
    }

    /// Adds an application org with the given signature policies.
    pub fn with_org_policies(
        mut self,
        name: &str,
        verifier: MspVerifier,
        policies: &[(String, String)],
    ) -> Result<Self, String> {
        let mut compiled = BTreeMap::new();
        for (n, rule) in policies {
            let env = from_string(rule).map_err(|e| format!("policy {n} `{rule}`: {e}"))?;
            compiled.insert(
                n.clone(),
                CompiledPolicy::new(&env).map_err(|e| format!("policy {n}: {e}"))?,
            );
        }
        self.orgs.push(StaticOrg {
            name: name.to_owned(),
            msp_id: verifier.msp_id().to_owned(),
            policies: compiled,
        });
        self.msps.insert(verifier);
        Ok(self)
    }

    /// Adds an MSP that is not an application org (e.g. the orderer org).
    pub fn with_msp(mut self, verifier: MspVerifier) -> Self {
        self.msps.insert(verifier);
        self
    }

    /// Sets (or replaces) an application-level policy.
    pub fn with_application_policy(mut self, name: &str, policy: ChannelPolicy) -> Self {
        self.application.insert(name.to_owned(), policy);
        self
    }
}

const APP: &str = "/Channel/Application/";

impl ChannelPolicies for StaticChannel {
    fn msps(&self) -> &MspManager {
        &self.msps
    }

    fn application_orgs(&self) -> Vec<(String, String)> {
        self.orgs
            .iter()
            .map(|o| (o.name.clone(), o.msp_id.clone()))
            .collect()
    }

    fn has_policy(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix(APP) else {
            return false;
        };
        match rest.split_once('/') {
            None => self.application.contains_key(rest),
            Some((org, policy)) => self
                .orgs
                .iter()
                .any(|o| o.name == org && o.policies.contains_key(policy)),
        }
    }

    fn evaluate(&self, path: &str, signers: &[ValidatedIdentity]) -> Result<(), String> {
        let not_found = || format!("policy {path} not found");
        let rest = path.strip_prefix(APP).ok_or_else(not_found)?;
        match rest.split_once('/') {
            None => match self.application.get(rest).ok_or_else(not_found)? {
                ChannelPolicy::Signature(p) => signature_check(p, signers),
                ChannelPolicy::ImplicitMeta(meta) => {
                    let results: Vec<bool> = self
                        .orgs
                        .iter()
                        .map(|o| {
                            o.policies
                                .get(&meta.sub_policy)
                                .is_some_and(|p| p.evaluate(signers))
                        })
                        .collect();
                    implicit_meta_check(meta, &results)
                }
            },
            Some((org, policy)) => {
                let p = self
                    .orgs
                    .iter()
                    .find(|o| o.name == org)
                    .and_then(|o| o.policies.get(policy))
                    .ok_or_else(not_found)?;
                signature_check(p, signers)
            }
        }
    }
}

/// Fabric's message for an unsatisfied signature policy.
pub fn signature_check(p: &CompiledPolicy, signers: &[ValidatedIdentity]) -> Result<(), String> {
    if p.evaluate(signers) {
        Ok(())
    } else {
        Err("signature set did not satisfy policy".into())
    }
}
