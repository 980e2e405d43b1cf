//! What the server's tests share: the server started as a child process, a small HTTP client,
//! and a WebDriver client for headless Chromium.

#![allow(dead_code)]

pub mod browser;
pub mod http;
