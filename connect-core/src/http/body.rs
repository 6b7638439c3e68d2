//! Reading an answer's body with a ceiling: a server that answers more than a connector can expect
//! (a runaway page, a proxy's error page looping) is refused before it fills memory.

use bytes::{Bytes, BytesMut};

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The body is longer than the limit (by its `Content-Length`, or as it arrived).
    TooLarge,
    /// The connection broke off while the body was read.
    Transport(reqwest::Error),
}

/// Reads `resp`'s body, refusing one longer than `limit` bytes without reading past it.
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut buf = BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if buf.len() + c.len() > limit {
                    return Err(BodyError::TooLarge);
                }
                buf.extend_from_slice(&c);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => return Err(BodyError::Transport(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server answering each connection with `raw` (a whole HTTP/1.1 response).
    async fn serve(raw: &'static str) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = vec![0; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(raw.as_bytes()).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn bodies_past_the_limit_are_refused_declared_or_streamed() {
        let client = reqwest::Client::new();
        let declared =
            serve("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 10\r\n\r\n0123456789")
                .await;
        let chunked = serve(
            "HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
        )
        .await;
        for url in [&declared, &chunked] {
            let got = read_capped(client.get(url).send().await.unwrap(), 10)
                .await
                .unwrap();
            assert_eq!(&got[..], b"0123456789");
            let refused = read_capped(client.get(url).send().await.unwrap(), 9).await;
            assert!(
                matches!(refused, Err(BodyError::TooLarge)),
                "{url}: {refused:?}"
            );
        }
    }
}
