//! `ClusterConnection`: the cluster behind `redis::ConnectionLike`, so every `redis::Commands`
//! method (and `redis::cmd(..).query(..)`, and non-atomic pipelines) works on it unchanged.

use redis::{Arg, Cmd, ConnectionLike, RedisResult, Value};

use crate::cluster::Cluster;
use crate::error::ClusterError;
use crate::resp::parse_commands;

/// A handle on a `Cluster`; cheap to create, one per thread or task is fine.
#[derive(Clone, Debug)]
pub struct ClusterConnection {
    cluster: Cluster,
}

impl ClusterConnection {
    pub(crate) fn new(cluster: Cluster) -> ClusterConnection {
        ClusterConnection { cluster }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Runs one command; an error reply stays a `Value::ServerError`, as on a plain connection.
    fn run<A: AsRef<[u8]>>(&self, args: &[A]) -> RedisResult<Value> {
        Ok(self.cluster.run(args)?.0)
    }
}

impl ConnectionLike for ClusterConnection {
    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        // The arguments straight from the `Cmd`, without packing and parsing them again; a
        // SCAN-style cursor argument has no bytes of its own, so that case takes the packed path.
        let args: Option<Vec<&[u8]>> = cmd
            .args_iter()
            .map(|arg| match arg {
                Arg::Simple(bytes) => Some(bytes),
                _ => None,
            })
            .collect();
        match args {
            Some(args) => self.run(&args),
            None => self.req_packed_command(&cmd.get_packed_command()),
        }
    }

    fn req_packed_command(&mut self, packed: &[u8]) -> RedisResult<Value> {
        let commands = parse_commands(packed).map_err(ClusterError::Command)?;
        match commands.as_slice() {
            [args] => self.run(args),
            _ => Err(ClusterError::Command(format!(
                "ERR expected one packed command, got {}",
                commands.len()
            ))
            .into()),
        }
    }

    fn req_packed_commands(
        &mut self,
        packed: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let commands = parse_commands(packed).map_err(ClusterError::Command)?;
        if commands
            .first()
            .is_some_and(|c| c.first().is_some_and(|n| n.eq_ignore_ascii_case(b"MULTI")))
        {
            return Err(ClusterError::Refused {
                command: "multi".to_owned(),
                reason: "atomic pipelines (MULTI/EXEC) are not supported yet; use a non-atomic pipeline",
            }
            .into());
        }
        // Every command is planned before any is sent, so a malformed one stops the batch
        // with nothing applied.
        for args in &commands {
            crate::router::plan(args, self.cluster.master_count())?;
        }
        let mut replies = Vec::with_capacity(count);
        for (i, args) in commands.iter().enumerate() {
            let reply = self.run(args)?;
            if i >= offset && replies.len() < count {
                replies.push(reply);
            }
        }
        Ok(replies)
    }

    fn get_db(&self) -> i64 {
        self.cluster.masters().first().map_or(0, |m| m.db)
    }

    fn check_connection(&mut self) -> bool {
        self.cluster
            .execute_on_all(&["PING"])
            .iter()
            .all(|(_, reply)| reply.is_ok())
    }

    fn is_open(&self) -> bool {
        true
    }
}
