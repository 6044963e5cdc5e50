//! `ClusterConnection`: the cluster behind `redis::ConnectionLike`, so every `redis::Commands`
//! method (and `redis::cmd(..).query(..)`, and non-atomic pipelines) works on it unchanged.

use redis::{Arg, Cmd, ConnectionLike, RedisResult, Value};

use crate::cluster::Cluster;
use crate::commands::{TransactionMark, transaction_mark};
use crate::error::ClusterError;
use crate::wire::request::parse_commands;

/// A handle on a `Cluster`; cheap to create, one per thread or task is fine.
#[derive(Clone, Debug)]
pub struct ClusterConnection {
    cluster: Cluster,
}

impl Cluster {
    /// A connection-like handle for `redis::Commands`. (Defined here, beside the handle's
    /// type, so the front does not import the layer above it.)
    pub fn handle(&self) -> ClusterConnection {
        ClusterConnection {
            cluster: self.clone(),
        }
    }
}

impl ClusterConnection {
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
        let mark = |args: Option<&Vec<Vec<u8>>>| args.and_then(|a| transaction_mark(a));
        // An atomic redis-rs pipeline is MULTI, the commands, EXEC; it reads EXEC's reply.
        let atomic = commands.len() >= 2
            && mark(commands.first()) == Some(TransactionMark::Multi)
            && mark(commands.last()) == Some(TransactionMark::Exec);
        let replies = if atomic {
            let body = &commands[1..commands.len() - 1];
            let exec = self.cluster.transaction(body)?;
            let queued = body
                .iter()
                .map(|_| Value::SimpleString("QUEUED".to_owned()));
            std::iter::once(Value::Okay)
                .chain(queued)
                .chain([exec])
                .collect()
        } else {
            self.cluster
                .pipeline(&commands)?
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(replies.into_iter().skip(offset).take(count).collect())
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
