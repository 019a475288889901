// The API reference (templates/api_docs.html): Swagger UI over the portal's
// OpenAPI document. The schema's address comes from the page, not from here.
(function () {
  "use strict";
  const el = document.getElementById("swagger-ui");
  if (!el || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: el.dataset.schemaUrl,
    domNode: el,
    deepLinking: true,
    // Requests from "Try it out" carry the session cookie; unsafe ones need the CSRF token.
    requestInterceptor: function (request) {
      const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
      if (match) request.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
      return request;
    },
  });
})();
