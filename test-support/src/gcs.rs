//! The Google Cloud Storage peer: the `gcp-storage-emulator` server (PyPI), installed by
//! `scripts/setup.sh` into `target/gcs-venv`. Objects are read back over the emulator's JSON API with
//! Python's standard library, a client independent of the sink under test.

use std::path::PathBuf;
use std::process::Command;

use crate::process::{base64_decode, output_text, spawn_listening, Process};

/// Runs the emulator with one mend: its XML API upload answers without the `ETag` header that GCS
/// always sends and object_store requires, so the handler gains it (the MD5 of the content, as GCS
/// gives for a simple upload). Everything else is the emulator's own.
const WITH_ETAG: &str = r#"
import sys, hashlib
from gcp_storage_emulator import server
from gcp_storage_emulator.handlers import objects
from gcp_storage_emulator.__main__ import main
def xml_upload_with_etag(request, response, storage, *args, **kwargs):
    objects.xml_upload(request, response, storage, *args, **kwargs)
    response["ETag"] = '"' + hashlib.md5(request.data).hexdigest() + '"'
for _, handlers in server.HANDLERS:
    for method, handler in list(handlers.items()):
        if handler is objects.xml_upload:
            handlers[method] = xml_upload_with_etag
main(sys.argv[1:])
"#;

/// A GCS emulator on a free loopback port holding one bucket, killed (SIGKILL) on drop.
pub struct Gcs {
    _process: Process,
    port: u16,
    dir: tempfile::TempDir,
}

fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/gcs-venv")
}

impl Gcs {
    /// Starts the emulator with `bucket` created, and waits (up to 60 s) until it answers.
    pub fn start(bucket: &str) -> Gcs {
        let python = venv().join("bin/python");
        assert!(
            venv().join("bin/gcp-storage-emulator").is_file(),
            "gcp-storage-emulator is not installed under {}: run scripts/setup.sh",
            venv().display()
        );
        let port = crate::free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut cmd = Command::new(python);
        cmd.arg("-c")
            .arg(WITH_ETAG)
            .args(["start", "-H", "127.0.0.1", "--port", &port.to_string()])
            .args(["--default-bucket", bucket, "--in-memory", "-q"])
            .current_dir(dir.path());
        Gcs {
            _process: spawn_listening("gcp-storage-emulator", cmd, port),
            port,
            dir,
        }
    }

    /// `http://127.0.0.1:<port>`, the endpoint (`store.url`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A service account file for `gcs.credentials.path` that tells the client to skip OAuth (the
    /// emulator takes no tokens), in the form object_store documents for emulators.
    pub fn credentials_path(&self) -> String {
        let path = self.dir.path().join("service-account.json");
        let json = serde_json::json!({
            "disable_oauth": true,
            "gcs_base_url": self.url(),
            "client_email": "",
            "private_key": "",
            "private_key_id": "",
        });
        std::fs::write(&path, json.to_string()).expect("the credentials file is written");
        path.display().to_string()
    }

    /// Every object of `bucket` as (name, content), in name order.
    pub fn objects(&self, bucket: &str) -> Vec<(String, Vec<u8>)> {
        let script = format!(
            r#"
import json, base64, urllib.request, urllib.parse
base = '{url}/storage/v1/b/{bucket}/o'
out, token = [], None
while True:
    q = base + ('?pageToken=' + urllib.parse.quote(token) if token else '')
    page = json.load(urllib.request.urlopen(q))
    for o in page.get('items', []):
        name = urllib.parse.quote(o['name'], safe='')
        body = urllib.request.urlopen(base + '/' + name + '?alt=media').read()
        out.append([o['name'], base64.b64encode(body).decode()])
    token = page.get('nextPageToken')
    if not token:
        break
out.sort()
print(json.dumps(out))
"#,
            url = self.url()
        );
        let text = output_text(
            Command::new(venv().join("bin/python"))
                .arg("-c")
                .arg(script)
                .output(),
        )
        .expect("the objects are listed");
        let pairs: Vec<(String, String)> = serde_json::from_str(text.trim()).expect("JSON");
        pairs
            .into_iter()
            .map(|(k, b)| (k, base64_decode(&b)))
            .collect()
    }
}
