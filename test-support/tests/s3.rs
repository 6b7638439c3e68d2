//! The S3 peer starts, takes a bucket and lists what is in it.

use connect_test_support::S3;

#[test]
fn moto_serves_a_bucket() {
    let s3 = S3::start();
    s3.create_bucket("archive");
    assert!(s3.objects("archive").is_empty());
}
