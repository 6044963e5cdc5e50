//! The migration tools for Python: the `rediscluster` command line (the console script runs
//! it in-process) and `copy` / `reshard` as functions answering their summary as JSON text.
//! All of it runs without the GIL.

use pyo3::prelude::*;
use rediscluster_tools::ToolError;
use rediscluster_tools::copy::{CopyOptions, copy, verify};
use rediscluster_tools::reshard::{ReshardOptions, reshard};

use crate::errors::tool_error;

/// Runs the `rediscluster` command line (`args[0]` is the program name); the exit status.
#[pyfunction]
pub fn run_tool(py: Python<'_>, args: Vec<String>) -> u8 {
    py.detach(|| rediscluster_tools::cli::main_with_args(args))
}

/// `rediscluster copy` as a function: `{"copy": {...}, "verify": {...} | null}` as JSON.
#[pyfunction]
#[pyo3(signature = (source, destination, pattern, batch, state, check, tag_rule, route_untagged_by_name, rate))]
#[allow(clippy::too_many_arguments)]
pub fn tool_copy(
    py: Python<'_>,
    source: String,
    destination: String,
    pattern: Option<String>,
    batch: usize,
    state: Option<String>,
    check: bool,
    tag_rule: Option<String>,
    route_untagged_by_name: bool,
    rate: Option<f64>,
) -> PyResult<String> {
    let result: Result<String, ToolError> = py.detach(|| {
        let from = rediscluster_tools::cfg::load(&source)?;
        let to = rediscluster_tools::cfg::load_destination(&destination)?;
        let options = CopyOptions {
            pattern: pattern.clone(),
            batch,
            state: state.map(Into::into),
            tag_rule: rediscluster_tools::reshard::tag_rule_of(tag_rule.as_deref())?,
            route_unplaceable_by_name: route_untagged_by_name,
            rate,
        };
        let summary = copy(&from, &to, &options, &|_| {})?;
        let verified = if check {
            Some(verify(&from, &to, &options, 1000)?)
        } else {
            None
        };
        Ok(serde_json::json!({"copy": summary, "verify": verified}).to_string())
    });
    result.map_err(|e| tool_error(py, e))
}

/// `rediscluster reshard` as a function: its summary as JSON.
#[pyfunction]
#[pyo3(signature = (source, destination, tag_rule, route_untagged_by_name, batch, state, dry_run, rate))]
#[allow(clippy::too_many_arguments)]
pub fn tool_reshard(
    py: Python<'_>,
    source: String,
    destination: String,
    tag_rule: Option<String>,
    route_untagged_by_name: bool,
    batch: usize,
    state: Option<String>,
    dry_run: bool,
    rate: Option<f64>,
) -> PyResult<String> {
    let result: Result<String, ToolError> = py.detach(|| {
        let from = rediscluster_tools::cfg::load(&source)?;
        let to = rediscluster_tools::cfg::load_destination(&destination)?;
        let options = ReshardOptions {
            batch,
            state: state.map(Into::into),
            tag_rule: rediscluster_tools::reshard::tag_rule_of(tag_rule.as_deref())?,
            route_unplaceable_by_name: route_untagged_by_name,
            dry_run,
            rate,
        };
        let summary = reshard(&from, &to, &options, &|_| {})?;
        Ok(serde_json::to_string(&summary).unwrap_or_default())
    });
    result.map_err(|e| tool_error(py, e))
}

/// `rediscluster plan` as a function: the plan as JSON (`random`: that many random keys, no
/// server touched; else a SCAN of every old master, `sample` keys of each when given).
#[pyfunction]
#[pyo3(signature = (source, destination, sample, random, tag_rule, route_untagged_by_name))]
pub fn tool_plan(
    py: Python<'_>,
    source: String,
    destination: String,
    sample: Option<u64>,
    random: Option<u64>,
    tag_rule: Option<String>,
    route_untagged_by_name: bool,
) -> PyResult<String> {
    let result: Result<String, ToolError> = py.detach(|| {
        let from = rediscluster_tools::cfg::load(&source)?;
        let to = rediscluster_tools::cfg::load(&destination)?;
        let request = rediscluster_tools::plan::PlanRequest {
            random,
            sample,
            tag_rule: tag_rule.as_deref(),
            route_unplaceable_by_name: route_untagged_by_name,
        };
        let plan = rediscluster_tools::plan::plan_for(&from, &to, &request)?;
        Ok(serde_json::to_string(&plan).unwrap_or_default())
    });
    result.map_err(|e| tool_error(py, e))
}

/// `rediscluster grow` as a function: the grown config as JSON.
#[pyfunction]
pub fn tool_grow(py: Python<'_>, cluster: String, add: Vec<String>) -> PyResult<String> {
    let result: Result<String, ToolError> = py.detach(|| {
        let config = rediscluster_tools::cfg::load_value(&cluster)?;
        Ok(rediscluster_tools::grow::grow(&config, &add)?.to_string())
    });
    result.map_err(|e| tool_error(py, e))
}
