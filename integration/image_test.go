package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// busyboxImageName is the full reference of the hand-made busybox image,
// as both containerd and podman name it after an import.
const busyboxImageName = "localhost/nullrun/busybox:latest"

// imageEpoch is the modification time of every tar entry and the image's
// creation time, so that two builds of the archive are byte-for-byte equal.
var imageEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// imagePath is the PATH in the image config. It is the usual one, and it
// contains /bin, where busybox's applets are.
const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// imageDirPrefix starts the name of the temporary directory that holds the
// archive, followed by the pid of the test binary that made it.
const imageDirPrefix = "nullrun-image-"

// dockerArchiveManifest is one entry of a docker-archive manifest.json, the
// format `docker save` writes and `podman load` reads.
type dockerArchiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// busyboxImage is the archive shared by every test in this binary.
var busyboxImage struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// busyboxImageArchive returns the path of a tar archive of a busybox-static
// image named busyboxImageName that both `ctr images import` and
// `podman load` accept. The archive is built once per test binary run, and
// the tests must not modify it.
func busyboxImageArchive(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(busyboxPath); err != nil {
		t.Skipf("needs %s from the busybox-static package: %v", busyboxPath, err)
	}

	busyboxImage.once.Do(func() {
		// If makeRootfs ends the first caller with t.Fatal, the Do call
		// still returns and the later callers read this error.
		busyboxImage.err = fmt.Errorf("build image archive: the first build stopped early, see the first test that failed")
		removeStaleImageDirs()
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", imageDirPrefix, os.Getpid()))
		if err != nil {
			busyboxImage.err = fmt.Errorf("create image directory: %w", err)
			return
		}
		busyboxImage.dir = dir
		rootfs := filepath.Join(dir, "rootfs")
		makeRootfs(t, rootfs)
		path := filepath.Join(dir, "busybox.tar")
		busyboxImage.path, busyboxImage.err = path, writeImageFile(path, rootfs, busyboxImageName)
	})
	if busyboxImage.err != nil {
		t.Fatal(busyboxImage.err)
	}
	return busyboxImage.path
}

// removeBusyboxImage deletes the archive made by busyboxImageArchive. It is
// meant for TestMain, after m.Run returns.
func removeBusyboxImage() error {
	if busyboxImage.dir == "" {
		return nil
	}
	return os.RemoveAll(busyboxImage.dir)
}

// removeStaleImageDirs deletes image directories of test binaries that have
// exited, so a run whose TestMain does not call removeBusyboxImage leaves at
// most one archive behind.
func removeStaleImageDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), imageDirPrefix+"*"))
	for _, dir := range matches {
		pidText, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(dir), imageDirPrefix), "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.RemoveAll(dir)
		}
	}
}

// writeImageFile writes the image archive of rootfs to path.
func writeImageFile(path, rootfs, name string) error {
	var buf bytes.Buffer
	if err := writeImageArchive(&buf, rootfs, name); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write image archive: %w", err)
	}
	return nil
}

// writeImageArchive writes to w a tar archive that is at the same time an
// OCI image layout (oci-layout, index.json, blobs/sha256/...) and a
// docker-archive (manifest.json pointing at the same blobs). The image has
// one gzip layer holding rootfs, runs "sh" by default, and is named name.
// Entries are sorted and carry fixed times and owners, so the same rootfs
// always gives the same bytes.
func writeImageArchive(w io.Writer, rootfs, name string) error {
	layer, diffID, err := buildLayer(rootfs)
	if err != nil {
		return err
	}
	blobs := map[digest.Digest][]byte{}
	addBlob := func(mediaType string, data []byte) ocispec.Descriptor {
		d := digest.FromBytes(data)
		blobs[d] = data
		return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
	}
	layerDesc := addBlob(ocispec.MediaTypeImageLayerGzip, layer)

	created := imageEpoch
	platform := ocispec.Platform{Architecture: goruntime.GOARCH, OS: "linux"}
	config, err := json.Marshal(ocispec.Image{
		Created:  &created,
		Platform: platform,
		Config: ocispec.ImageConfig{
			Env:        []string{imagePath},
			Cmd:        []string{"sh"},
			WorkingDir: "/",
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History: []ocispec.History{{
			Created:   &created,
			CreatedBy: "nullrun integration tests: busybox-static, one symlink per applet",
		}},
	})
	if err != nil {
		return fmt.Errorf("encode image config: %w", err)
	}
	configDesc := addBlob(ocispec.MediaTypeImageConfig, config)

	manifest, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	})
	if err != nil {
		return fmt.Errorf("encode image manifest: %w", err)
	}
	manifestDesc := addBlob(ocispec.MediaTypeImageManifest, manifest)
	manifestDesc.Platform = &platform
	manifestDesc.Annotations = map[string]string{
		"io.containerd.image.name": name,
		ocispec.AnnotationRefName:  name,
	}

	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{manifestDesc},
	})
	if err != nil {
		return fmt.Errorf("encode image index: %w", err)
	}
	layout, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return fmt.Errorf("encode oci-layout: %w", err)
	}
	dockerManifest, err := json.Marshal([]dockerArchiveManifest{{
		Config:   blobPath(configDesc.Digest),
		RepoTags: []string{name},
		Layers:   []string{blobPath(layerDesc.Digest)},
	}})
	if err != nil {
		return fmt.Errorf("encode docker-archive manifest.json: %w", err)
	}

	files := map[string][]byte{
		ocispec.ImageLayoutFile: layout,
		ocispec.ImageIndexFile:  index,
		"manifest.json":         dockerManifest,
	}
	for d, data := range blobs {
		files[blobPath(d)] = data
	}
	return writeSortedTar(w, []string{"blobs/", "blobs/sha256/"}, files)
}

// blobPath returns the path of a blob inside an OCI image layout.
func blobPath(d digest.Digest) string {
	return ocispec.ImageBlobsDir + "/" + d.Algorithm().String() + "/" + d.Encoded()
}

// writeSortedTar writes the directories dirs and the regular files in
// files to w in name order, all owned by root with mtime imageEpoch.
func writeSortedTar(w io.Writer, dirs []string, files map[string][]byte) error {
	type entry struct {
		name string
		data []byte
		dir  bool
	}
	var entries []entry
	for _, d := range dirs {
		entries = append(entries, entry{name: d, dir: true})
	}
	for name, data := range files {
		entries = append(entries, entry{name: name, data: data})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })

	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, ModTime: imageEpoch, Format: tar.FormatUSTAR}
		if e.dir {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		} else {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write tar header %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("write tar entry %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish image archive: %w", err)
	}
	return nil
}

// buildLayer returns the gzip-compressed tar of rootfs and the digest of the
// uncompressed tar, which the image config lists as the layer's diff ID.
// Directories, regular files and symlinks are stored in lexical order with
// owner 0:0 and mtime imageEpoch; anything else in rootfs is an error.
func buildLayer(rootfs string) ([]byte, digest.Digest, error) {
	var compressed bytes.Buffer
	zw, err := gzip.NewWriterLevel(&compressed, gzip.BestCompression)
	if err != nil {
		return nil, "", fmt.Errorf("start layer compression: %w", err)
	}
	diffHash := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, diffHash))

	// WalkDir visits entries in lexical order, which keeps the layer stable.
	err = filepath.WalkDir(rootfs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(rootfs, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:    filepath.ToSlash(rel),
			Mode:    int64(info.Mode().Perm()),
			ModTime: imageEpoch,
			Format:  tar.FormatUSTAR,
		}
		if info.Mode()&fs.ModeSticky != 0 {
			hdr.Mode |= 0o1000
		}
		var content []byte
		switch {
		case info.Mode().IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case info.Mode()&fs.ModeSymlink != 0:
			hdr.Typeflag = tar.TypeSymlink
			if hdr.Linkname, err = os.Readlink(path); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			hdr.Typeflag = tar.TypeReg
			if content, err = os.ReadFile(path); err != nil {
				return err
			}
			hdr.Size = int64(len(content))
		default:
			return fmt.Errorf("add %s to layer: file type %v is not supported, remove it from the rootfs", path, info.Mode().Type())
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write layer header %s: %w", hdr.Name, err)
		}
		_, err = tw.Write(content)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("build layer from %s: %w", rootfs, err)
	}
	if err := tw.Close(); err != nil {
		return nil, "", fmt.Errorf("finish layer tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, "", fmt.Errorf("finish layer compression: %w", err)
	}
	return compressed.Bytes(), digest.NewDigest(digest.SHA256, diffHash), nil
}

// readTar returns the headers and contents of every entry in data, in order.
func readTar(t *testing.T, data []byte) ([]*tar.Header, map[string][]byte) {
	t.Helper()
	var headers []*tar.Header
	contents := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return headers, contents
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar entry %s: %v", hdr.Name, err)
		}
		headers = append(headers, hdr)
		contents[hdr.Name] = body
	}
}

func TestImageArchiveReproducible(t *testing.T) {
	path := busyboxImageArchive(t)
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// A second rootfs made now has other mtimes and inode order than the
	// first one; the archive must not show it.
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	makeRootfs(t, rootfs)
	var second bytes.Buffer
	if err := writeImageArchive(&second, rootfs, busyboxImageName); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second.Bytes()) {
		t.Errorf("got a different archive from a second build (%d and %d bytes, sha256 %s and %s), want identical bytes",
			len(first), second.Len(), digest.FromBytes(first), digest.FromBytes(second.Bytes()))
	}

	if again := busyboxImageArchive(t); again != path {
		t.Errorf("got archive path %s on the second call, want %s from the first", again, path)
	}
}

func TestImageArchiveLayout(t *testing.T) {
	data, err := os.ReadFile(busyboxImageArchive(t))
	if err != nil {
		t.Fatal(err)
	}
	headers, contents := readTar(t, data)

	var names []string
	for _, hdr := range headers {
		names = append(names, hdr.Name)
		if !hdr.ModTime.Equal(imageEpoch) {
			t.Errorf("entry %s: got mtime %v, want %v", hdr.Name, hdr.ModTime, imageEpoch)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("entry %s: got owner %d:%d, want 0:0", hdr.Name, hdr.Uid, hdr.Gid)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("got entries %q, want them sorted by name", names)
	}

	var layout ocispec.ImageLayout
	decodeJSON(t, contents, ocispec.ImageLayoutFile, &layout)
	if layout.Version != ocispec.ImageLayoutVersion {
		t.Errorf("oci-layout: got version %q, want %q", layout.Version, ocispec.ImageLayoutVersion)
	}

	var index ocispec.Index
	decodeJSON(t, contents, ocispec.ImageIndexFile, &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json: got %d manifests, want 1", len(index.Manifests))
	}
	manifestDesc := index.Manifests[0]
	for _, key := range []string{"io.containerd.image.name", ocispec.AnnotationRefName} {
		if got := manifestDesc.Annotations[key]; got != busyboxImageName {
			t.Errorf("index.json: got annotation %s=%q, want %q", key, got, busyboxImageName)
		}
	}

	manifestData := checkBlob(t, contents, manifestDesc)
	var manifest ocispec.Manifest
	if err := json.Unmarshal(manifestData, &manifest); err != nil {
		t.Fatalf("decode image manifest: %v", err)
	}
	if len(manifest.Layers) != 1 {
		t.Fatalf("image manifest: got %d layers, want 1", len(manifest.Layers))
	}
	if got := manifest.Layers[0].MediaType; got != ocispec.MediaTypeImageLayerGzip {
		t.Errorf("image manifest: got layer media type %q, want %q", got, ocispec.MediaTypeImageLayerGzip)
	}

	var config ocispec.Image
	if err := json.Unmarshal(checkBlob(t, contents, manifest.Config), &config); err != nil {
		t.Fatalf("decode image config: %v", err)
	}
	if got := strings.Join(config.Config.Cmd, " "); got != "sh" {
		t.Errorf("image config: got Cmd %q, want %q", got, "sh")
	}
	if got := strings.Join(config.Config.Env, " "); got != imagePath {
		t.Errorf("image config: got Env %q, want %q", got, imagePath)
	}

	layer := checkBlob(t, contents, manifest.Layers[0])
	zr, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		t.Fatalf("open gzip layer: %v", err)
	}
	layerTar, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decompress layer: %v", err)
	}
	if len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != digest.FromBytes(layerTar) {
		t.Errorf("image config: got diff_ids %v, want [%s]", config.RootFS.DiffIDs, digest.FromBytes(layerTar))
	}
	layerHeaders, _ := readTar(t, layerTar)
	layerEntries := map[string]*tar.Header{}
	for _, hdr := range layerHeaders {
		layerEntries[hdr.Name] = hdr
	}
	if hdr := layerEntries["bin/busybox"]; hdr == nil || hdr.Typeflag != tar.TypeReg || hdr.Mode&0o111 == 0 {
		t.Errorf("layer: got bin/busybox %+v, want an executable regular file", hdr)
	}
	if hdr := layerEntries["bin/sh"]; hdr == nil || hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "busybox" {
		t.Errorf("layer: got bin/sh %+v, want a symlink to busybox", hdr)
	}
	tmpInfo, err := os.Stat(filepath.Join(busyboxImage.dir, "rootfs", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if hdr := layerEntries["tmp/"]; hdr == nil || fs.FileMode(hdr.Mode)&fs.ModePerm != tmpInfo.Mode().Perm() {
		t.Errorf("layer: got tmp/ %+v, want a directory with permissions %v as in the rootfs", hdr, tmpInfo.Mode().Perm())
	}

	var docker []dockerArchiveManifest
	decodeJSON(t, contents, "manifest.json", &docker)
	if len(docker) != 1 {
		t.Fatalf("manifest.json: got %d images, want 1", len(docker))
	}
	if got := strings.Join(docker[0].RepoTags, " "); got != busyboxImageName {
		t.Errorf("manifest.json: got RepoTags %q, want %q", got, busyboxImageName)
	}
	if got, want := docker[0].Config, blobPath(manifest.Config.Digest); got != want {
		t.Errorf("manifest.json: got Config %q, want %q", got, want)
	}
	if got, want := strings.Join(docker[0].Layers, " "), blobPath(manifest.Layers[0].Digest); got != want {
		t.Errorf("manifest.json: got Layers %q, want %q", got, want)
	}
}

// decodeJSON unmarshals the archive entry name into v.
func decodeJSON(t *testing.T, contents map[string][]byte, name string, v any) {
	t.Helper()
	data, ok := contents[name]
	if !ok {
		t.Fatalf("got no %s in the archive, want one", name)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

// checkBlob returns the blob that desc points at, after checking that it is
// in the archive with the size and digest desc states.
func checkBlob(t *testing.T, contents map[string][]byte, desc ocispec.Descriptor) []byte {
	t.Helper()
	data, ok := contents[blobPath(desc.Digest)]
	if !ok {
		t.Fatalf("got no blob %s in the archive, want one", blobPath(desc.Digest))
	}
	if int64(len(data)) != desc.Size {
		t.Errorf("blob %s: got %d bytes, want %d", desc.Digest, len(data), desc.Size)
	}
	if got := digest.FromBytes(data); got != desc.Digest {
		t.Errorf("blob %s: got digest %s, want the name", desc.Digest, got)
	}
	return data
}

func TestImageLayerModes(t *testing.T) {
	rootfs := t.TempDir()
	if err := os.Mkdir(filepath.Join(rootfs, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	// os.Chmod needs os.ModeSticky: a plain 0o1000 bit is not passed on.
	if err := os.Chmod(filepath.Join(rootfs, "tmp"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "tool"), []byte("#!/bin/sh\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("tool", filepath.Join(rootfs, "link")); err != nil {
		t.Fatal(err)
	}

	layer, diffID, err := buildLayer(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		t.Fatalf("open gzip layer: %v", err)
	}
	layerTar, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decompress layer: %v", err)
	}
	if got := digest.FromBytes(layerTar); got != diffID {
		t.Errorf("got diff ID %s, want %s, the digest of the uncompressed layer", diffID, got)
	}

	headers, _ := readTar(t, layerTar)
	tests := []struct {
		name     string
		typeflag byte
		mode     int64
		linkname string
	}{
		{name: "link", typeflag: tar.TypeSymlink, mode: 0o777, linkname: "tool"},
		{name: "tmp/", typeflag: tar.TypeDir, mode: 0o1777},
		{name: "tool", typeflag: tar.TypeReg, mode: 0o750},
	}
	if len(headers) != len(tests) {
		t.Fatalf("got %d layer entries, want %d", len(headers), len(tests))
	}
	for i, tt := range tests {
		hdr := headers[i]
		if hdr.Name != tt.name {
			t.Errorf("entry %d: got name %q, want %q", i, hdr.Name, tt.name)
			continue
		}
		if hdr.Typeflag != tt.typeflag {
			t.Errorf("%s: got type %q, want %q", tt.name, hdr.Typeflag, tt.typeflag)
		}
		if hdr.Mode != tt.mode {
			t.Errorf("%s: got mode %#o, want %#o", tt.name, hdr.Mode, tt.mode)
		}
		if hdr.Linkname != tt.linkname {
			t.Errorf("%s: got link target %q, want %q", tt.name, hdr.Linkname, tt.linkname)
		}
	}
}
