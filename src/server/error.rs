//! `ApiError`: every failure the API reports, rendered as `{"error":{"code","message"}}`.
//!
//! 4xx errors say clearly what was wrong with the request. 5xx errors carry no internal detail:
//! the detail is written to the server's log (stderr) and the client sees a generic message.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Malformed or out-of-range input (400).
    #[error("{0}")]
    BadRequest(String),
    /// No session, or an expired one (401).
    #[error("login required")]
    Unauthorized,
    /// Wrong user name or password (401).
    #[error("wrong user name or password")]
    BadCredentials,
    /// Logged in, but the role does not allow this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Unknown entity, case map, route (404).
    #[error("{0}")]
    NotFound(String),
    /// The action does not fit the current state, e.g. approving a draft (409).
    #[error("{0}")]
    Conflict(String),
    /// Request body over the limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// Wrong media type (415).
    #[error("{0}")]
    UnsupportedMedia(String),
    /// Too many login attempts (429).
    #[error("too many failed login attempts; retry in {0} s")]
    RateLimited(u64),
    /// A method the route does not offer (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The graph is not loaded yet, or the server is too busy (503).
    #[error("{0}")]
    Unavailable(String),
    /// A query ran past its time bound (503).
    #[error("the query took longer than {0} s; narrow it (fewer hops, more filters)")]
    Timeout(u64),
    /// Anything else: a bug or a storage failure. The detail is logged, never sent (500).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad(msg: impl Into<String>) -> ApiError {
        ApiError::BadRequest(msg.into())
    }

    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(detail.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) | ApiError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMedia(_) => "unsupported_media_type",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Timeout(_) => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorInner<'a>,
}

#[derive(Serialize)]
struct ErrorInner<'a> {
    code: &'a str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            // The only place internals go: the server's own log.
            eprintln!("fraudnet serve: internal error: {detail}");
        }
        let body = ErrorBody {
            error: ErrorInner {
                code: self.code(),
                message: self.to_string(),
            },
        };
        let mut resp = (self.status(), axum::Json(body)).into_response();
        if let ApiError::RateLimited(secs) = self {
            if let Ok(v) = secs.to_string().parse() {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let status = r.status();
        let text = r.body_text();
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge(format!("request body too large: {text}"))
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMedia(
                "expected a request with `Content-Type: application/json`".to_string(),
            ),
            s if s.is_server_error() => ApiError::Internal(text),
            _ => ApiError::BadRequest(format!("malformed JSON: {text}")),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::BadRequest(format!("bad query parameters: {}", r.body_text()))
    }
}

/// `axum::Json` with rejections in the API's error format.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with rejections in the API's error format.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
