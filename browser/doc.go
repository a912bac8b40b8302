// Package browser is the small web browser of `packetwalk trace`: the
// client half of the walk that the seed's last section describes (How
// Network Works, ch. 6, "the web browser receives the response and
// displays it").
//
// A Browser runs on any host's socket API (it only needs a way to open a
// TCP connection). For each page it
//
//  1. writes the request message and hands it to the protocol stack
//     (fetch.go);
//  2. reads the response the stack reassembled from the segments;
//  3. judges the data (judge.go), in the seed's order: the status; the kind
//     of data from Content-Type, a MIME type (RFC 9110 §8.3, RFC 2046);
//     for text, the character code from its charset parameter; whether it
//     was compressed or encoded, from Content-Encoding (gzip is decoded,
//     RFC 9110 §8.4.1.3); and, when the type is missing or says nothing,
//     the requested file's extension;
//  4. does what the judgement says: an HTML page, plain text and an image
//     are displayed by the browser itself (an HTML page's tags are
//     interpreted, which finds its stylesheet and images: page.go), other
//     data is saved or handed to an application;
//  5. fetches the page's subresources, over the one persistent connection
//     (RFC 9112 §9.3) or over a few parallel ones, as Config.Connections
//     says.
//
// Every judgement is a step of layer "browser" in the step log, so the
// narration, the ladder and the report show the browser's half as they
// show the server's seven steps.
package browser
