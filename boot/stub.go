package boot

import _ "embed"

//go:generate sh -c "as --64 -o stub.o stub.S && objcopy -O binary -j .text stub.o stub.bin && rm stub.o"

// stubBlob is stub.S assembled; stub_test.go checks it is current.
//
//go:embed stub.bin
var stubBlob []byte
