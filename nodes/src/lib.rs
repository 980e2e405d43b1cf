//! The actors of the studies. Each study is one module.
