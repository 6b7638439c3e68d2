//! The Azure Blob Storage peer: Microsoft's Azurite emulator (npm), installed by `scripts/setup.sh`
//! into `target/azurite`. Containers are created and blobs read back with Microsoft's Python SDK
//! (`azure-storage-blob`, in `target/azure-venv`), a client independent of the sink under test.

use std::path::PathBuf;
use std::process::Command;

use crate::process::{base64_decode, output_text, spawn_listening, Process};

/// Azurite's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development account key (public; documented by Microsoft).
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An Azurite blob service on a free loopback port, killed (SIGKILL) on drop.
pub struct Azurite {
    _process: Process,
    port: u16,
    _dir: tempfile::TempDir,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target")
}

impl Azurite {
    /// Starts the blob service and waits (up to 60 s) until it answers.
    pub fn start() -> Azurite {
        let bin = root().join("azurite/node_modules/.bin/azurite-blob");
        assert!(
            bin.is_file(),
            "Azurite is not installed under {}: run scripts/setup.sh",
            root().join("azurite").display()
        );
        let port = crate::free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut cmd = Command::new(bin);
        cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(dir.path())
            .args([
                "--silent",
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
            ]);
        Azurite {
            _process: spawn_listening("azurite-blob", cmd, port),
            port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:<port>/devstoreaccount1`, the account's endpoint (`store.url`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    fn python(&self, body: &str) -> Result<String, String> {
        let script = format!(
            "import json, base64\nfrom azure.storage.blob import BlobServiceClient\n\
             svc = BlobServiceClient(account_url='{}', credential={{'account_name': '{ACCOUNT}', 'account_key': '{ACCOUNT_KEY}'}})\n{body}",
            self.url()
        );
        output_text(
            Command::new(root().join("azure-venv/bin/python"))
                .arg("-c")
                .arg(script)
                .output(),
        )
    }

    /// Creates a container.
    pub fn create_container(&self, container: &str) {
        self.python(&format!("svc.create_container('{container}')"))
            .expect("the container is created");
    }

    /// Every blob of `container` as (name, content), in name order.
    pub fn blobs(&self, container: &str) -> Vec<(String, Vec<u8>)> {
        let text = self
            .python(&format!(
                "c = svc.get_container_client('{container}')\nout = []\n\
                 for b in c.list_blobs():\n    \
                 out.append([b.name, base64.b64encode(c.download_blob(b.name).readall()).decode()])\n\
                 out.sort()\nprint(json.dumps(out))"
            ))
            .expect("the blobs are listed");
        let pairs: Vec<(String, String)> = serde_json::from_str(text.trim()).expect("JSON");
        pairs
            .into_iter()
            .map(|(k, b)| (k, base64_decode(&b)))
            .collect()
    }
}
