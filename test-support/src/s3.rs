//! The S3 peer: moto's server, installed by `scripts/setup.sh` into `target/s3-venv`. Objects are read
//! back with boto3 (moto's own dependency), a client independent of the sink under test.

use std::path::PathBuf;
use std::process::Command;

use crate::process::{base64_decode, output_text, spawn_listening, Process};

/// A moto S3 server on a free loopback port, killed (SIGKILL) on drop.
pub struct S3 {
    _process: Process,
    port: u16,
}

fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/s3-venv")
}

impl S3 {
    /// Starts the server and waits (up to 60 s) until it answers.
    pub fn start() -> S3 {
        let bin = venv().join("bin/moto_server");
        assert!(
            bin.is_file(),
            "moto is not installed under {}: run scripts/setup.sh",
            venv().display()
        );
        let port = crate::free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        S3 {
            _process: spawn_listening("moto_server", cmd, port),
            port,
        }
    }

    /// `http://127.0.0.1:<port>`, the endpoint (`store.url`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn python(&self, script: &str) -> Result<String, String> {
        output_text(
            Command::new(venv().join("bin/python"))
                .arg("-c")
                .arg(script)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .output(),
        )
    }

    fn client(&self) -> String {
        format!(
            "import boto3, json, base64\nc = boto3.client('s3', endpoint_url='{}', region_name='us-east-1')\n",
            self.url()
        )
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, bucket: &str) {
        self.python(&format!(
            "{}c.create_bucket(Bucket='{bucket}')",
            self.client()
        ))
        .expect("the bucket is created");
    }

    /// Every object of the bucket as (key, content), in key order.
    pub fn objects(&self, bucket: &str) -> Vec<(String, Vec<u8>)> {
        let script = format!(
            "{}out = []\nfor page in c.get_paginator('list_objects_v2').paginate(Bucket='{bucket}'):\n    for o in page.get('Contents', []):\n        b = c.get_object(Bucket='{bucket}', Key=o['Key'])['Body'].read()\n        out.append([o['Key'], base64.b64encode(b).decode()])\nprint(json.dumps(out))",
            self.client()
        );
        let text = self.python(&script).expect("the objects are listed");
        let pairs: Vec<(String, String)> = serde_json::from_str(text.trim()).expect("JSON");
        pairs
            .into_iter()
            .map(|(k, b)| (k, base64_decode(&b)))
            .collect()
    }
}

impl S3 {
    /// Every Parquet object of the bucket as (key, rows), read with pyarrow; timestamps as epoch
    /// milliseconds, dates as days since the epoch.
    pub fn parquet_objects(&self, bucket: &str) -> Vec<(String, Vec<serde_json::Value>)> {
        let read = r#"
import io, datetime, pyarrow.parquet as pq
def plain(v):
    if isinstance(v, datetime.datetime): return int(v.timestamp() * 1000)
    if isinstance(v, datetime.date): return (v - datetime.date(1970, 1, 1)).days
    return v
out = []
for page in c.get_paginator('list_objects_v2').paginate(Bucket=BUCKET):
    for o in page.get('Contents', []):
        b = c.get_object(Bucket=BUCKET, Key=o['Key'])['Body'].read()
        rows = pq.read_table(io.BytesIO(b)).to_pylist()
        out.append([o['Key'], [{k: plain(v) for k, v in r.items()} for r in rows]])
print(json.dumps(out))
"#;
        let script = format!("{}BUCKET = '{bucket}'\n{read}", self.client());
        let text = self.python(&script).expect("the Parquet objects are read");
        serde_json::from_str(text.trim()).expect("JSON")
    }
}
