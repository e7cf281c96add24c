//! Faults of the machine rather than of the migration: a full disk, a missing permission, a
//! read-only file system or database, a server that went away. Each has its own next step, so
//! that nobody "fixes" a migration that was never wrong.

use std::io::ErrorKind;

/// A cause outside the migration's SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The disk (the database server's, or the backup folder's) is full.
    DiskFull,
    /// The user running dbguard (or the database user) may not do this.
    PermissionDenied,
    /// The file system, or the database (a replica, read-only mode), takes no writes.
    ReadOnly,
    /// The connection to the database was lost: the server stopped, restarted or ended it.
    ServerGone,
}

impl Fault {
    /// The fault behind a file-system error, if it is one of these.
    pub fn of_io(e: &std::io::Error) -> Option<Fault> {
        match e.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Some(Fault::DiskFull),
            ErrorKind::PermissionDenied => Some(Fault::PermissionDenied),
            ErrorKind::ReadOnlyFilesystem => Some(Fault::ReadOnly),
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof => Some(Fault::ServerGone),
            _ => None,
        }
    }

    /// The fault behind a driver error that is not the database's answer to a statement (a
    /// lost connection).
    pub(crate) fn of_driver(e: &sqlx::Error) -> Option<Fault> {
        match e {
            sqlx::Error::Io(io) => Fault::of_io(io).or(Some(Fault::ServerGone)),
            sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => Some(Fault::ServerGone),
            sqlx::Error::Protocol(m) if m.contains("closed") || m.contains("EOF") => Some(Fault::ServerGone),
            _ => None,
        }
    }

    /// What happened, in a few words.
    pub fn what(self) -> &'static str {
        match self {
            Fault::DiskFull => "the disk is full",
            Fault::PermissionDenied => "permission denied",
            Fault::ReadOnly => "it is read-only",
            Fault::ServerGone => "the connection to the database was lost",
        }
    }

    /// What to do about it, for a file or folder at `place` or for the database (`None`).
    pub fn next_step(self, place: Option<&std::path::Path>) -> String {
        match (self, place) {
            (Fault::DiskFull, Some(p)) => format!("free space where {} is (`df -h {}`)", p.display(), p.display()),
            (Fault::DiskFull, None) => "free space on the database server's disk (the migration is not at fault)".into(),
            (Fault::PermissionDenied, Some(p)) => format!(
                "give the user running dbguard write access to {} (`ls -ld {}`), or set another backup folder",
                p.display(),
                p.display()
            ),
            (Fault::PermissionDenied, None) => {
                "grant the database user the privilege the statement needs (or run as the owner of the schema)".into()
            }
            (Fault::ReadOnly, Some(p)) => format!("{} is on a read-only file system: remount it read-write or put the database and its backups elsewhere", p.display()),
            (Fault::ReadOnly, None) => {
                "the database takes no writes (a replica, or read-only mode): run against the primary, or turn read-only mode off".into()
            }
            (Fault::ServerGone, _) => "check that the database server is up and reachable (it may have restarted or ended the session)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_system_fault_has_its_own_next_step() {
        let dir = std::path::Path::new("/var/backups");
        let cases = [
            (ErrorKind::StorageFull, Fault::DiskFull, "df -h /var/backups"),
            (ErrorKind::PermissionDenied, Fault::PermissionDenied, "ls -ld /var/backups"),
            (ErrorKind::ReadOnlyFilesystem, Fault::ReadOnly, "remount it read-write"),
            (ErrorKind::BrokenPipe, Fault::ServerGone, "server is up"),
        ];
        for (kind, fault, next) in cases {
            let found = Fault::of_io(&std::io::Error::from(kind));
            assert_eq!(found, Some(fault), "{kind:?}");
            assert!(fault.next_step(Some(dir)).contains(next), "{kind:?}: {}", fault.next_step(Some(dir)));
        }
        assert_eq!(Fault::of_io(&std::io::Error::from(ErrorKind::InvalidData)), None, "not a machine fault");
        // A permission error never says "check the disk has room", nor a full disk "fix the migration".
        assert!(!Fault::PermissionDenied.next_step(Some(dir)).contains("room"));
        assert!(Fault::DiskFull.next_step(None).contains("not at fault"));
    }
}
