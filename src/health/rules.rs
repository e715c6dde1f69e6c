//! A component's own health rules for a kind, declared in its descriptor as CEL expressions in
//! the shape of Flux's `healthCheckExprs`, so that expressions written for Flux (and the CEL
//! cheat sheets people share for cert-manager, Crossplane, Cluster API...) work unchanged.
//!
//! The kstatus conventions of [`super::generic`] fit controllers that publish a `Ready`
//! condition; many do not (a `phase` field, an `Issuing` condition that comes before `Ready`,
//! an `Available` that means something else). A rule replaces the built-in judgement of its
//! kind, built-in workloads included.
//!
//! Expressions are compiled when the registry loads, so a typo stops the operator naming the
//! descriptor, the kind and the expression, instead of showing up as a component that never
//! becomes Ready. Each top-level field of the live object is a variable (`metadata`, `spec`,
//! `status`, `data`...); `metadata`, `spec` and `status` are always bound, empty when the
//! object has none, so that `has(status.phase)` is false rather than an error before a
//! controller has written anything.

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::value::Val;
use cel::objects::{Key, Map};
use cel::{Context, Program, Value};
use kube::api::DynamicObject;
use serde::Deserialize;
use serde_json::Value as Json;

use super::{AWAITING_READINESS, Health, Subject};

/// Reason of an object that its `failed` expression matches.
pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
/// Reason of an object on which an expression could not be evaluated (a field it reads is
/// missing, a comparison of a string with a number): not Ready, with the expression and the
/// evaluator's words, since waiting may or may not help.
pub const HEALTH_CHECK_ERROR: &str = "HealthCheckError";

/// One rule as a descriptor writes it (`health:` in `charts/components/<name>.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthCheck {
    /// `group/version`, or `version` for the core group. The group and the kind select the
    /// objects; the version only says which schema the expressions were written for.
    pub api_version: String,
    pub kind: String,
    /// True when the object is healthy.
    pub current: String,
    /// True when it is stuck until someone changes something: the component is Degraded.
    #[serde(default)]
    pub failed: Option<String>,
    /// True when it is on its way; checked first, so that a half-finished object is not
    /// taken for a failed or a healthy one.
    #[serde(default)]
    pub in_progress: Option<String>,
}

impl HealthCheck {
    fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

/// A rule that does not compile, or that is declared twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("health rule for {api_version} {kind}: {field} expression {expression:?}: {reason}")]
    Compile {
        api_version: String,
        kind: String,
        field: &'static str,
        expression: String,
        reason: String,
    },
    #[error("health rule for {api_version} {kind}: needs an apiVersion and a kind")]
    Incomplete { api_version: String, kind: String },
    #[error("health rule for {api_version} {kind}: declared twice")]
    Duplicate { api_version: String, kind: String },
}

/// One compiled expression and the text it came from, which messages quote.
#[derive(Debug, Clone)]
struct Expression {
    source: String,
    program: Arc<Program>,
}

impl Expression {
    fn compile(check: &HealthCheck, field: &'static str, source: &str) -> Result<Self, RuleError> {
        let program = Program::compile(source).map_err(|e| RuleError::Compile {
            api_version: check.api_version.clone(),
            kind: check.kind.clone(),
            field,
            expression: source.to_string(),
            reason: e.to_string().trim().replace('\n', " "),
        })?;
        Ok(Expression {
            source: source.to_string(),
            program: Arc::new(program),
        })
    }

    /// Whether the expression holds for the object bound in `context`; an error, or a result
    /// that is not a bool, is the message of a [`HEALTH_CHECK_ERROR`].
    fn holds(&self, field: &str, context: &Context) -> Result<bool, String> {
        match self.program.execute(context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "health rule {field} {:?} gave {}, not a bool",
                self.source,
                other.type_of()
            )),
            Err(e) => Err(format!(
                "health rule {field} {:?} cannot be evaluated: {e}",
                self.source
            )),
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    group: String,
    kind: String,
    current: Expression,
    failed: Option<Expression>,
    in_progress: Option<Expression>,
}

/// A component's compiled rules, at most one per group and kind.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Compiles every declared rule; every problem is reported, not only the first.
    pub fn compile(checks: &[HealthCheck]) -> Result<Rules, Vec<RuleError>> {
        let mut rules: Vec<Rule> = Vec::new();
        let mut errors = Vec::new();
        let mut declared = std::collections::HashSet::new();
        for check in checks {
            let named = || (check.api_version.clone(), check.kind.clone());
            if check.api_version.is_empty() || check.kind.is_empty() {
                let (api_version, kind) = named();
                errors.push(RuleError::Incomplete { api_version, kind });
                continue;
            }
            if !declared.insert((check.group(), check.kind.as_str())) {
                let (api_version, kind) = named();
                errors.push(RuleError::Duplicate { api_version, kind });
                continue;
            }
            let current = Expression::compile(check, "current", &check.current);
            let optional = |field: &'static str, source: &Option<String>| {
                source
                    .as_deref()
                    .map(|s| Expression::compile(check, field, s))
                    .transpose()
            };
            let failed = optional("failed", &check.failed);
            let in_progress = optional("inProgress", &check.in_progress);
            match (current, failed, in_progress) {
                (Ok(current), Ok(failed), Ok(in_progress)) => rules.push(Rule {
                    group: check.group().to_string(),
                    kind: check.kind.clone(),
                    current,
                    failed,
                    in_progress,
                }),
                (current, failed, in_progress) => {
                    errors.extend(current.err());
                    errors.extend(failed.err());
                    errors.extend(in_progress.err());
                }
            }
        }
        if errors.is_empty() {
            Ok(Rules { rules })
        } else {
            Err(errors)
        }
    }

    /// Whether objects of this group and kind are judged by a rule of ours.
    pub fn covers(&self, group: &str, kind: &str) -> bool {
        self.get(group, kind).is_some()
    }

    fn get(&self, group: &str, kind: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.group == group && r.kind == kind)
    }

    /// The rule's verdict on `object`, or `None` when no rule covers its kind.
    pub(super) fn judge(
        &self,
        group: &str,
        kind: &str,
        s: &Subject,
        object: &DynamicObject,
    ) -> Option<Health> {
        self.get(group, kind).map(|rule| rule.judge(s, object))
    }
}

impl Rule {
    /// `inProgress`, then `failed`, then `current`, as Flux evaluates them; none true is
    /// progressing. Before any of them, a status that is about an older generation is
    /// progressing whatever it says, as for every kind with rules of its own.
    fn judge(&self, s: &Subject, object: &DynamicObject) -> Health {
        if s.int("/status/observedGeneration").is_some()
            && let Some(lag) = s.generation_lag()
        {
            return Health::progressing("LatestGenerationNotObserved", lag);
        }
        let context = context(object);
        let evaluated = (|| -> Result<Health, String> {
            if let Some(e) = &self.in_progress
                && e.holds("inProgress", &context)?
            {
                return Ok(Health::progressing(
                    AWAITING_READINESS,
                    s.say(&format!("in progress ({})", e.source)),
                ));
            }
            if let Some(e) = &self.failed
                && e.holds("failed", &context)?
            {
                let mut message = format!("failed ({})", e.source);
                if let Some(said) = own_words(s) {
                    message = format!("{message}: {said}");
                }
                return Ok(Health::degraded(HEALTH_CHECK_FAILED, s.say(&message)));
            }
            if self.current.holds("current", &context)? {
                return Ok(Health::Healthy);
            }
            Ok(Health::progressing(
                AWAITING_READINESS,
                s.say(&format!("not yet current ({})", self.current.source)),
            ))
        })();
        evaluated.unwrap_or_else(|message| Health::progressing(HEALTH_CHECK_ERROR, s.say(&message)))
    }
}

/// What the object's own controller says about it: the message of a `Ready` or `Available`
/// condition that is not True.
fn own_words<'a>(s: &Subject<'a>) -> Option<&'a str> {
    ["Ready", "Available"]
        .iter()
        .filter_map(|t| s.condition(t))
        .find(|c| !c.is_true() && !c.message.is_empty())
        .map(|c| c.message)
}

/// The object's top-level fields as CEL variables.
fn context(object: &DynamicObject) -> Context<'static, 'static> {
    let mut context = Context::default();
    let mut fields = match serde_json::to_value(object) {
        Ok(Json::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    };
    for always in ["metadata", "spec", "status"] {
        fields
            .entry(always)
            .or_insert_with(|| Json::Object(serde_json::Map::new()));
    }
    for (name, value) in fields {
        // Plain data always converts; should a value not, the variable stays unbound and
        // an expression that reads it says so.
        if let Ok(value) = Box::<dyn Val>::try_from(cel_value(value)) {
            context.add_variable_as_val(name, value);
        }
    }
    context
}

/// JSON as CEL sees it. Integers are CEL `int` (a `uint` only past i64), as Kubernetes'
/// own CEL gives them, so that `status.replicas == 2` compares like with like.
fn cel_value(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(Arc::new(s)),
        Json::Array(items) => Value::List(Arc::new(items.into_iter().map(cel_value).collect())),
        Json::Object(fields) => {
            let map: HashMap<Key, Value> = fields
                .into_iter()
                .map(|(k, v)| (Key::String(Arc::new(k)), cel_value(v)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}
